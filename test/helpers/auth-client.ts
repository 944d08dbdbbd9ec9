import request from 'supertest';

export const JSON_HEADERS = { 'Content-Type': 'application/json' };

export interface Session {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly user: { readonly id: string; readonly username: string; readonly roles: string[] };
}

/** Registers a user through the real endpoint and returns the session it got. */
export async function register(
  baseUrl: string,
  username: string,
  password = 'correct-horse-1',
): Promise<Session> {
  const response = await request(baseUrl)
    .post('/auth/register')
    .set(JSON_HEADERS)
    .send({ username, password });
  if (response.status !== 201) throw new Error(`register ${username}: ${response.status} ${response.text}`);
  return response.body as Session;
}

export async function login(
  baseUrl: string,
  username: string,
  password = 'correct-horse-1',
): Promise<Session> {
  const response = await request(baseUrl).post('/auth/login').set(JSON_HEADERS).send({ username, password });
  if (response.status !== 200) throw new Error(`login ${username}: ${response.status} ${response.text}`);
  return response.body as Session;
}
