// Atlas's versioned media types. The resource exists in one version, 2024-11-13.

export const API_VERSION = '2024-11-13';
export const ATLAS_MEDIA_TYPE = `application/vnd.atlas.${API_VERSION}+json`;
/** What Atlas sends with a success. */
export const SUCCESS_CONTENT_TYPE = `${ATLAS_MEDIA_TYPE};charset=utf-8`;
/** What Atlas sends with an ApiError. */
export const ERROR_CONTENT_TYPE = 'application/json';

/** Media types a request body may be sent as. */
export const BODY_MEDIA_TYPES: readonly string[] = ['application/json', ATLAS_MEDIA_TYPE];

/** The bare, lower-cased media type of a header value, parameters dropped. */
export function mediaTypeOf(headerValue: string): string {
  const semi = headerValue.indexOf(';');
  return (semi === -1 ? headerValue : headerValue.slice(0, semi)).trim().toLowerCase();
}

/**
 * Whether an Accept header admits the resource's version. Only an explicit mention counts
 * (wildcards and application/json do not, as on Atlas); a q=0 mention is a refusal.
 */
export function acceptsApiVersion(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  if (accept === ATLAS_MEDIA_TYPE) return true; // what clients send: no need to parse it
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';');
    if (type === undefined || type.trim().toLowerCase() !== ATLAS_MEDIA_TYPE) continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    return true;
  }
  return false;
}
