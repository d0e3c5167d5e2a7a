from marketplace.core.exceptions import ApplicationError


class SignInError(ApplicationError):
    """A Sign-In with Ethereum message or signature was refused. ``code`` says which check."""

    default_code = "sign_in_failed"
    status_code = 400


class SignatureError(SignInError):
    default_code = "bad_signature"
    status_code = 401


class ApiTokenError(ApplicationError):
    default_code = "invalid_token"
    status_code = 400
