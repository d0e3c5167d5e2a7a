// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DataBountyToken
/// @notice An ERC-20 test token for local chains and test networks: bounties, rewards and
/// purchases are paid in it. Only the owner can mint, so demo balances come from one key.
contract DataBountyToken is ERC20, Ownable {
    // Stored because OpenZeppelin's ERC20 hard-codes 18; stablecoin-like tokens use 6.
    uint8 private immutable _decimals;

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        address initialOwner
    ) ERC20(name_, symbol_) Ownable(initialOwner) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @param amount in base units (10 ** decimals() per whole token)
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
