import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { createClientSlots, createUpstreamPool } from '../../src/proxy/admission.js';

describe('client slots', () => {
  it('give each client perClient slots of its own, and a slot given back can be taken again', () => {
    const slots = createClientSlots(2);
    assert.equal(slots.take('a'), true);
    assert.equal(slots.take('a'), true);
    assert.equal(slots.take('a'), false, 'a third for the same client');
    assert.equal(slots.take('b'), true, 'another client has its own');
    slots.give('a');
    assert.equal(slots.take('a'), true);
  });

  it('forget a client once it holds nothing', () => {
    const slots = createClientSlots(3);
    slots.take('a');
    slots.take('b');
    slots.give('a');
    assert.equal(slots.clients, 1);
    slots.give('b');
    assert.equal(slots.clients, 0);
  });

  it('refuse a limit below one when built', () => {
    assert.throws(() => createClientSlots(0), TypeError);
  });
});

describe('upstream pool', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('hands out size connections, then queues; a freed connection goes to the first in line', () => {
    const pool = createUpstreamPool(2, 1_000);
    const started: string[] = [];
    assert.equal(pool.tryHold(), true);
    assert.equal(pool.tryHold(), true);
    assert.equal(pool.tryHold(), false);
    assert.equal(pool.saturated(), true);
    const first = pool.wait(
      () => started.push('first'),
      () => started.push('first expired'),
    );
    pool.wait(
      () => started.push('second'),
      () => started.push('second expired'),
    );
    assert.deepEqual(pool.usage(), { inUse: 2, waiting: 2, size: 2 });

    pool.release();
    assert.deepEqual(started, ['first']);
    assert.deepEqual(pool.usage(), { inUse: 2, waiting: 1, size: 2 });
    pool.leave(first);
    assert.deepEqual(started, ['first', 'second']);
  });

  it('expires a waiter at its deadline, and leaving it afterwards changes nothing', () => {
    const pool = createUpstreamPool(1, 1_000);
    const events: string[] = [];
    pool.tryHold();
    const waiter = pool.wait(
      () => events.push('started'),
      () => events.push('expired'),
    );
    mock.timers.tick(999);
    assert.deepEqual(events, []);
    mock.timers.tick(1);
    assert.deepEqual(events, ['expired']);
    assert.equal(pool.usage().waiting, 0);
    pool.leave(waiter);
    pool.release();
    assert.deepEqual(pool.usage(), { inUse: 0, waiting: 0, size: 1 });
    assert.deepEqual(events, ['expired'], 'an expired waiter is never started');
  });

  it('takes a waiter that leaves out of the line, its deadline cancelled', () => {
    const pool = createUpstreamPool(1, 1_000);
    const events: string[] = [];
    pool.tryHold();
    const waiter = pool.wait(
      () => events.push('started'),
      () => events.push('expired'),
    );
    pool.leave(waiter);
    pool.leave(waiter);
    mock.timers.tick(2_000);
    pool.release();
    assert.deepEqual(events, []);
    assert.deepEqual(pool.usage(), { inUse: 0, waiting: 0, size: 1 });
  });

  it('frees the connection of a started waiter once, however often it leaves', () => {
    const pool = createUpstreamPool(1, 1_000);
    pool.tryHold();
    const waiter = pool.wait(
      () => undefined,
      () => undefined,
    );
    pool.release();
    assert.equal(pool.usage().inUse, 1);
    pool.leave(waiter);
    pool.leave(waiter);
    assert.equal(pool.usage().inUse, 0);
  });

  it('refuses a size below one or a deadline of zero when built', () => {
    assert.throws(() => createUpstreamPool(0, 1_000), TypeError);
    assert.throws(() => createUpstreamPool(1, 0), TypeError);
  });
});
