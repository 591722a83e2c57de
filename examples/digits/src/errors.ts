/** Machine-readable codes of the JSON errors the API returns: `{"error": {"code", "message"}}`. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_input'
  | 'bad_vector_length'
  | 'not_finite'
  | 'empty_batch'
  | 'batch_too_large'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_png'
  | 'invalid_image'
  | 'image_too_large'
  | 'not_found'
  | 'not_ready'
  | 'overloaded'
  | 'shutting_down'
  | 'internal';

/** An error the client can act on; the server's error handler maps it to a response. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
