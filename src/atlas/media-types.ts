// Atlas's versioned media types. Each operation exists in one version: the resource in
// 2024-11-13, Atlas's projects and organizations operations in 2023-01-01 (DESIGN.md §10).

export const API_VERSION = '2024-11-13';
/** The version of Atlas's projects and organizations operations. */
export const PROJECTS_API_VERSION = '2023-01-01';

export const versionedMediaType = (version: string) => `application/vnd.atlas.${version}+json`;
export const ATLAS_MEDIA_TYPE = versionedMediaType(API_VERSION);
export const PROJECTS_MEDIA_TYPE = versionedMediaType(PROJECTS_API_VERSION);
/** What Atlas sends with a success of an operation whose versioned type is `mediaType`. */
export const successContentType = (mediaType: string) => `${mediaType};charset=utf-8`;
export const SUCCESS_CONTENT_TYPE = successContentType(ATLAS_MEDIA_TYPE);
/** What Atlas sends with an ApiError. */
export const ERROR_CONTENT_TYPE = 'application/json';

/** Media types a request body may be sent as, for an operation whose versioned type is `mediaType`. */
export const bodyMediaTypes = (mediaType: string): readonly string[] => ['application/json', mediaType];

/** The bare, lower-cased media type of a header value, parameters dropped. */
export function mediaTypeOf(headerValue: string): string {
  const semi = headerValue.indexOf(';');
  return (semi === -1 ? headerValue : headerValue.slice(0, semi)).trim().toLowerCase();
}

/**
 * Whether an Accept header admits the operation's version (its versioned `mediaType`). Only an
 * explicit mention counts (wildcards and application/json do not, as on Atlas); a q=0 mention
 * is a refusal.
 */
export function acceptsApiVersion(accept: string | undefined, mediaType: string = ATLAS_MEDIA_TYPE): boolean {
  if (accept === undefined) return false;
  if (accept === mediaType) return true; // what clients send: no need to parse it
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';');
    if (type === undefined || type.trim().toLowerCase() !== mediaType) continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    return true;
  }
  return false;
}
