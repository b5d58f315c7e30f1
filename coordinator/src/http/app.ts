// The Fastify application: HTTPS, JSON bodies with a size cap, schema-validated input, and one
// error handler that turns everything into {"error": {"code", "message"}} with a stable code.
// Feature folders register their routes on it; the WSS endpoint shares its server (mpc/).

import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import { ApiError } from '../errors.ts';
import { type CoordinatorContext } from '../context.ts';

export const BODY_LIMIT = 64 * 1024;

export function buildApp(ctx: CoordinatorContext, https?: { key: Buffer; cert: Buffer }): FastifyInstance {
  const app = Fastify({
    ...(https ? { https } : {}),
    bodyLimit: BODY_LIMIT,
    loggerInstance: ctx.log,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err: FastifyError | ApiError | Error, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if ('validation' in err && err.validation) e = new ApiError('BAD_REQUEST', `invalid request: ${err.message}`);
    else if ('code' in err && err.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
      e = new ApiError('MALFORMED_JSON', 'the body is not valid JSON');
    else if ('code' in err && (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413))
      e = new ApiError('BODY_TOO_LARGE', `the body is larger than ${BODY_LIMIT} bytes`);
    else if ('statusCode' in err && err.statusCode === 400)
      e = new ApiError('MALFORMED_JSON', 'the body could not be parsed');
    else if ('statusCode' in err && err.statusCode === 415) e = new ApiError('BAD_REQUEST', 'send application/json');
    else {
      req.log.error({ err }, 'internal error');
      e = new ApiError('INTERNAL', 'internal error');
    }
    ctx.metrics.inc('coordinator_api_errors_total', 'API requests refused or failed', { code: e.code });
    void reply.status(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send(new ApiError('NOT_FOUND', 'no such route').toJSON());
  });
  return app;
}
