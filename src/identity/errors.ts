/** Errors of certificates, keys and signatures; `code` is stable and reaches overlayctl's users. */
export type IdentityErrorCode = 'BAD_ENCODING' | 'BAD_CERT' | 'BAD_KEY' | 'BAD_REVOCATION' | 'BAD_SIGNATURE' | 'WRONG_CA' | 'CERT_EXPIRED' | 'BAD_REQUEST' | 'NOT_READY';

export class IdentityError extends Error {
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}
