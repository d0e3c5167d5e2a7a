from marketplace.core.exceptions import ApplicationError


class BountyError(ApplicationError):
    default_code = "bounty_invalid"
    status_code = 400


class RewardError(ApplicationError):
    default_code = "reward_invalid"
    status_code = 409


class PayoutError(ApplicationError):
    default_code = "payout_invalid"
    status_code = 409


class LicenseError(ApplicationError):
    default_code = "license_invalid"
    status_code = 400


class PurchaseError(ApplicationError):
    default_code = "purchase_invalid"
    status_code = 400


class TokenError(ApplicationError):
    default_code = "token_invalid"
    status_code = 400
