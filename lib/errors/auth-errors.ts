import { CoreError } from "./core-error";

/*
 * Why a caller could not be identified (lib/security). All are 401 (like
 * UNAUTHENTICATED, whose literal-typed static code they cannot inherit); the
 * code tells a client what to do next (log in again, refresh, ask for a new
 * key). No message ever carries the credential itself. Registered in
 * registry.ts, so they cross NATS with their codes.
 */

/** No credential at all where one is required. */
export class AuthRequiredError extends CoreError {
  static override readonly code = "AUTH_REQUIRED";
  static override readonly status = 401;
}

/** Unknown email or wrong password: deliberately the same answer for both. */
export class InvalidCredentialsError extends CoreError {
  static override readonly code = "AUTH_INVALID_CREDENTIALS";
  static override readonly status = 401;
}

/** The password was right but the account is disabled. */
export class AccountDisabledError extends CoreError {
  static override readonly code = "AUTH_ACCOUNT_DISABLED";
  static override readonly status = 401;
}

/** An access token that is malformed, badly signed, for another issuer or audience, or not valid yet; `data.reason` says which. */
export class InvalidAccessTokenError extends CoreError {
  static override readonly code = "AUTH_INVALID_TOKEN";
  static override readonly status = 401;
}

/** An access token past its `exp`: refresh it. */
export class AccessTokenExpiredError extends CoreError {
  static override readonly code = "AUTH_TOKEN_EXPIRED";
  static override readonly status = 401;
}

/** A refresh token that is unknown, expired or revoked: log in again. `data.reason` says which. */
export class InvalidRefreshTokenError extends CoreError {
  static override readonly code = "AUTH_INVALID_REFRESH_TOKEN";
  static override readonly status = 401;
}

/** A refresh token that was already spent came back: it leaked, so its whole family is now revoked. */
export class RefreshTokenReusedError extends CoreError {
  static override readonly code = "AUTH_REFRESH_REUSED";
  static override readonly status = 401;
}

/** An API key that is malformed, unknown or does not match its stored hash. */
export class InvalidApiKeyError extends CoreError {
  static override readonly code = "AUTH_INVALID_KEY";
  static override readonly status = 401;
}

/** A genuine API key that was revoked. */
export class ApiKeyRevokedError extends CoreError {
  static override readonly code = "AUTH_KEY_REVOKED";
  static override readonly status = 401;
}

/** A genuine API key past its expiry. */
export class ApiKeyExpiredError extends CoreError {
  static override readonly code = "AUTH_KEY_EXPIRED";
  static override readonly status = 401;
}
