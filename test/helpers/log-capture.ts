import { Writable } from 'node:stream';

/** A pino destination that keeps every line, raw and parsed. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
    callback();
  }

  get entries(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Everything logged, as one string, for "this secret never appears" checks. */
  get text(): string {
    return this.lines.join('\n');
  }
}
