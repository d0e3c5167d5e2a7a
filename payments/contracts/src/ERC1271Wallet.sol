// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title ERC1271Wallet
/// @notice A minimal contract wallet for tests and demos: it has no key of its own, so a
/// signature "by" it is one its owner's key made. Sign-In with Ethereum (EIP-4361) verifies
/// contract wallets through EIP-1271 (https://eips.ethereum.org/EIPS/eip-1271): the server calls
/// `isValidSignature` and accepts only the magic value.
contract ERC1271Wallet is IERC1271 {
    /// @dev bytes4(keccak256("isValidSignature(bytes32,bytes)")), the EIP-1271 "valid" answer.
    bytes4 internal constant MAGIC_VALUE = 0x1626ba7e;
    /// @dev Any other value means invalid; EIP-1271 suggests 0xffffffff.
    bytes4 internal constant INVALID_VALUE = 0xffffffff;

    /// @notice The one EOA whose ECDSA signatures count as this wallet's.
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice EIP-1271: whether `signature` over `hash` is valid for this wallet.
    /// @param hash The signed digest; for a SIWE message, its EIP-191 personal_sign hash.
    /// @param signature A 65-byte (r, s, v) ECDSA signature by `owner`.
    /// @return MAGIC_VALUE if `owner` signed `hash`, else 0xffffffff. Never reverts on a bad
    /// signature (tryRecover, not recover), so verifiers can tell "invalid" from "broken".
    function isValidSignature(
        bytes32 hash,
        bytes memory signature
    ) external view override returns (bytes4) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
        // err too, not only the address: on error tryRecover returns address(0), which must
        // never pass for a wallet whose owner is address(0).
        if (err == ECDSA.RecoverError.NoError && recovered == owner) {
            return MAGIC_VALUE;
        }
        return INVALID_VALUE;
    }
}
