import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { ProblemError } from '../../errors.js';
import { createReadiness, liveness, type ReadinessCheck } from '../../http/health.js';
import { asProblem, sendProblem } from '../../http/problem.js';
import { requestContext } from '../../http/request-context.js';
import { packageVersion } from '../../runtime.js';
import { mountBrowserPages } from './browser-pages.js';
import type { AuthContext } from './deps.js';
import { createJwksHandler } from './jwks.js';
import { createLoginHandler } from './login.js';
import { createLogoutHandler } from './logout.js';
import { createMeHandler } from './me.js';
import { buildOpenApiDocument } from '../openapi/document.js';
import { createPasswordChangeHandler } from './password-change.js';
import { createRefreshHandler } from './refresh.js';
import { createRegisterHandler } from './register.js';
import { createDeleteUserHandler, createListUsersHandler, createUpdateUserHandler } from './users.js';

/** Auth bodies are small; anything larger is refused before parsing. */
export const AUTH_BODY_LIMIT = '16kb';

/**
 * The sidecar's own endpoints: /auth/* and the health checks. Express and its JSON body parser
 * live here only; proxied requests never pass through them.
 */
export function createAuthApp(deps: AuthContext, notReadyReason: ReadinessCheck): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // req.ip, which rate limits count by, follows X-Forwarded-For only through `trustProxy` hops.
  app.set('trust proxy', deps.isTrustedProxy);

  app.get('/healthz', liveness);
  app.get('/readyz', createReadiness(notReadyReason));

  const jsonBody = [
    requireJsonBody,
    express.json({ limit: AUTH_BODY_LIMIT, type: 'application/json', strict: true }),
  ];
  const auth = express.Router({ strict: true });
  auth.route('/register').post(jsonBody, createRegisterHandler(deps)).all(methodNotAllowed('POST'));
  auth.route('/login').post(jsonBody, createLoginHandler(deps)).all(methodNotAllowed('POST'));
  auth.route('/refresh').post(jsonBody, createRefreshHandler(deps)).all(methodNotAllowed('POST'));
  auth.route('/logout').post(jsonBody, createLogoutHandler(deps)).all(methodNotAllowed('POST'));
  auth.route('/me').get(createMeHandler(deps)).all(methodNotAllowed('GET, HEAD'));
  auth.route('/password').post(jsonBody, createPasswordChangeHandler(deps)).all(methodNotAllowed('POST'));
  auth.route('/users').get(createListUsersHandler(deps)).all(methodNotAllowed('GET, HEAD'));
  auth
    .route('/users/:id')
    .patch(jsonBody, createUpdateUserHandler(deps))
    .delete(createDeleteUserHandler(deps))
    .all(methodNotAllowed('PATCH, DELETE'));
  auth
    .route('/jwks.json')
    .get(createJwksHandler(deps.accessTokens.own.keys))
    .all(methodNotAllowed('GET, HEAD'));
  auth
    .route('/openapi.json')
    .get(serveJson(buildOpenApiDocument({ version: packageVersion(), identity: deps.config.identity })))
    .all(methodNotAllowed('GET, HEAD'));
  const { browser } = deps;
  if (browser) mountBrowserPages(auth, { ...deps, browser });
  app.use('/auth', auth);

  app.use(notFound);
  app.use(createProblemHandler(deps));
  return app;
}

/** A body that is present must be JSON. `Content-Length: 0` (what fetch sends) is no body. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const empty = req.headers['content-length'] === '0' && req.headers['transfer-encoding'] === undefined;
  if (!empty && req.is('application/json') === false) {
    next(new ProblemError('unsupported_media_type', 'The request body must be application/json.'));
  } else {
    next();
  }
};

/** A document built once at start-up, served as it is on every request. */
function serveJson(document: unknown): RequestHandler {
  const body = JSON.stringify(document);
  return (_req, res) => {
    res.type('application/json').send(body);
  };
}

function methodNotAllowed(allow: string): RequestHandler {
  return (_req, _res, next) => {
    next(
      new ProblemError('method_not_allowed', `This endpoint accepts ${allow}.`, {
        headers: { Allow: allow },
      }),
    );
  };
}

const notFound: RequestHandler = (_req, _res, next) => {
  next(new ProblemError('not_found', 'There is no such endpoint.'));
};

function createProblemHandler(deps: AuthContext): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const reqId = requestContext(req)?.id;
    if (!(asProblem(err) instanceof ProblemError) && !isClientError(err)) {
      deps.logger.error({ err, reqId }, 'auth endpoint failed');
    }
    sendProblem(res, err, reqId);
  };
}

function isClientError(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
