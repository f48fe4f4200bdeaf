import type { FastifyRequest } from 'fastify';
import { errors } from '../atlas/errors.js';
import { ATLAS_MEDIA_TYPE, bodyMediaTypes, mediaTypeOf } from '../atlas/media-types.js';

// Check 10's first half: the body's media type, read in Atlas's order after the checks before it
// (the bytes were kept raw for this: see http/server.ts).

/** A body, once its media type is JSON or the operation's versioned type (`versioned`). */
export function acceptedBody(request: FastifyRequest, versioned: string = ATLAS_MEDIA_TYPE): Buffer | undefined {
  const body = request.body as Buffer | undefined;
  const contentType = request.headers['content-type'];
  if (contentType === undefined) {
    if (body === undefined || body.length === 0) throw errors.malformedJson();
    throw errors.unsupportedMediaType('(none)', versioned);
  }
  const type = mediaTypeOf(contentType);
  if (!bodyMediaTypes(versioned).includes(type)) throw errors.unsupportedMediaType(type, versioned);
  return body;
}
