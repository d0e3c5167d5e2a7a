// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title DataBountyToken
/// @notice An ERC-20 test token for local chains and test networks: bounties, rewards and
/// purchases are paid in it. Only the owner can mint, so demo balances come from one key.
///
/// It implements EIP-3009 (https://eips.ethereum.org/EIPS/eip-3009), "transfer with
/// authorization", as USDC's FiatTokenV2 does: the payer signs an EIP-712 message and anyone
/// (a relayer paying the gas, such as an x402 facilitator) submits it. Each authorization names
/// a random 32-byte nonce of the payer's choosing and a validity window, and is used once.
/// The EIP-712 domain is (name, version "1", chainId, verifyingContract); `eip712Domain()`
/// (ERC-5267) and `DOMAIN_SEPARATOR()` let clients read it. Signatures are checked with
/// OpenZeppelin's SignatureChecker, so a contract wallet (EIP-1271) can authorize too.
contract DataBountyToken is ERC20, Ownable, EIP712 {
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH =
        keccak256(
            "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
        );
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH =
        keccak256(
            "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
        );
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    string private constant EIP712_VERSION = "1";

    // Stored because OpenZeppelin's ERC20 hard-codes 18; stablecoin-like tokens use 6.
    uint8 private immutable _decimals;

    /// @dev Whether an authorizer's nonce has been used or canceled.
    mapping(address authorizer => mapping(bytes32 nonce => bool)) private _authorizationStates;

    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    /// @dev block.timestamp is not after `validAfter` yet.
    error AuthorizationNotYetValid(uint256 validAfter, uint256 timestamp);
    /// @dev block.timestamp is not before `validBefore` any more.
    error AuthorizationExpired(uint256 validBefore, uint256 timestamp);
    /// @dev The nonce was used or canceled already: an authorization works once.
    error AuthorizationUsedOrCanceled(address authorizer, bytes32 nonce);
    /// @dev The signature is not the authorizer's over this message, on this token and chain.
    error InvalidAuthorizationSignature(address authorizer);
    /// @dev receiveWithAuthorization was sent by someone other than the payee.
    error CallerMustBePayee(address caller, address payee);

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        address initialOwner
    ) ERC20(name_, symbol_) Ownable(initialOwner) EIP712(name_, EIP712_VERSION) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @param amount in base units (10 ** decimals() per whole token)
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice The EIP-712 domain version, as USDC exposes it.
    function version() external view returns (string memory) {
        return _EIP712Version();
    }

    /// @notice The EIP-712 domain separator on this chain.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Whether `authorizer` has used or canceled the authorization with `nonce`.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationStates[authorizer][nonce];
    }

    /// @notice Moves `value` from `from` to `to` with `from`'s signed authorization; anyone may
    /// submit it. The signature is (v, r, s) of an EIP-712 TransferWithAuthorization message.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        transferWithAuthorization(
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            abi.encodePacked(r, s, v)
        );
    }

    /// @notice As above with the signature as bytes: 65 bytes (r, s, v) from a key, or whatever
    /// `from`'s EIP-1271 `isValidSignature` accepts if `from` is a contract. Each (v, r, s)
    /// overload packs its signature so and calls its bytes overload.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) public {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            signature
        );
    }

    /// @notice Like transferWithAuthorization, but only `to` may submit it, so a relayer that
    /// sees the signed message cannot front-run the payee's own call.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        receiveWithAuthorization(
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            abi.encodePacked(r, s, v)
        );
    }

    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) public {
        if (msg.sender != to) {
            revert CallerMustBePayee(msg.sender, to);
        }
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH,
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            signature
        );
    }

    /// @notice Cancels an authorization that has not been used yet; `authorizer` signs an
    /// EIP-712 CancelAuthorization message.
    function cancelAuthorization(
        address authorizer,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        cancelAuthorization(authorizer, nonce, abi.encodePacked(r, s, v));
    }

    function cancelAuthorization(
        address authorizer,
        bytes32 nonce,
        bytes memory signature
    ) public {
        bytes32 structHash = keccak256(
            abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)
        );
        _useAuthorization(authorizer, nonce, structHash, signature);
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _transferWithAuthorization(
        bytes32 typeHash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        if (block.timestamp <= validAfter) {
            revert AuthorizationNotYetValid(validAfter, block.timestamp);
        }
        if (block.timestamp >= validBefore) {
            revert AuthorizationExpired(validBefore, block.timestamp);
        }
        bytes32 structHash = keccak256(
            abi.encode(typeHash, from, to, value, validAfter, validBefore, nonce)
        );
        _useAuthorization(from, nonce, structHash, signature);
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    /// @dev Checks that the nonce is unused and the signature is `authorizer`'s over the
    /// EIP-712 digest of `structHash`, then marks the nonce used.
    function _useAuthorization(
        address authorizer,
        bytes32 nonce,
        bytes32 structHash,
        bytes memory signature
    ) private {
        if (_authorizationStates[authorizer][nonce]) {
            revert AuthorizationUsedOrCanceled(authorizer, nonce);
        }
        bytes32 digest = _hashTypedDataV4(structHash);
        if (!SignatureChecker.isValidSignatureNow(authorizer, digest, signature)) {
            revert InvalidAuthorizationSignature(authorizer);
        }
        _authorizationStates[authorizer][nonce] = true;
    }
}
