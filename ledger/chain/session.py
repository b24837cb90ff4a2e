"""One account's session with the ledger contract: connection, signing, confirmations, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self, cast

from ledger.chain.encoding import checksum, error_table, event_table, plain
from ledger.contract import ContractArtifact, ContractEvent, TxOutcome
from ledger.errors import ChainError, ChainNodeUnreachableError, ContractError
from ledger.recursion import kept_recursion_limit

with kept_recursion_limit():  # py_ecc (under eth_account) raises it at import
    import aiohttp
    from eth_account import Account
    from eth_account.signers.local import LocalAccount
    from eth_typing import ChecksumAddress
    from hexbytes import HexBytes
    from web3 import AsyncHTTPProvider, AsyncIPCProvider, AsyncWeb3, WebSocketProvider
    from web3.contract import AsyncContract
    from web3.exceptions import (
        ContractCustomError,
        ContractLogicError,
        ContractPanicError,
        TimeExhausted,
        Web3Exception,
    )
    from web3.providers.async_base import AsyncBaseProvider
    from web3.providers.persistent import PersistentConnectionProvider
    from web3.providers.rpc.utils import ExceptionRetryConfiguration
    from web3.types import Nonce, TxParams, TxReceipt

_TRANSPORT_ERRORS = (Web3Exception, aiohttp.ClientError, OSError, TimeoutError)


class ContractSession:
    """One account's link to one chain and the ledger contract it works on.

    Transactions are signed locally (the key never leaves the process), get their nonce from a
    local counter serialised by a lock, and count as done after ``confirmations`` blocks.
    The caller reads the private key from the environment; it is never logged or stored here.
    Create with ``await ChainClient.connect(...)`` and close with ``await client.close()``
    (or ``async with``).
    """

    def __init__(
        self,
        w3: AsyncWeb3[AsyncBaseProvider],
        account: LocalAccount,
        chain_id: int,
        artifact: ContractArtifact,
        *,
        confirmations: int,
        timeout: float,
        poll_interval: float,
    ) -> None:
        self._w3 = w3
        self._account = account
        self._chain_id = chain_id
        self._artifact = artifact
        self._confirmations = confirmations
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._contract: AsyncContract | None = None
        self._nonce: int | None = None
        self._send_lock = asyncio.Lock()
        self._errors = error_table(w3, artifact)
        self._events = event_table(w3, artifact)

    @classmethod
    async def connect(
        cls,
        url: str,
        chain_id: int,
        private_key: str,
        *,
        contract_address: str | None = None,
        confirmations: int = 1,
        timeout_s: float = 60.0,
        poll_interval: float = 0.05,
        retries: int = 5,
        artifact: ContractArtifact | None = None,
    ) -> Self:
        """Connect to ``url``, refusing a node whose chain id is not ``chain_id``.

        ``url`` is an http(s) or ws(s) URL, or the absolute path of a node's IPC socket.
        With ``contract_address`` the client works on that deployed ledger (checked to carry
        the artefact's code); otherwise call ``deploy()`` or ``use_contract()`` first.
        """
        if confirmations < 1:
            raise ChainError(f"confirmations must be at least 1, got {confirmations}")
        account = _account(private_key)
        client = cls(
            AsyncWeb3(_provider(url, timeout_s, max(retries, 1))),
            account,
            chain_id,
            artifact or ContractArtifact.load(),
            confirmations=confirmations,
            timeout=timeout_s,
            poll_interval=poll_interval,
        )
        try:
            await client._check_chain_id(url)
            if contract_address is not None:
                await client.use_contract(contract_address)
        except BaseException:
            await client.close()
            raise
        return client

    async def _check_chain_id(self, url: str) -> None:
        try:
            async with self._rpc(f"reach the chain at {url}"):
                if isinstance(self._w3.provider, PersistentConnectionProvider):
                    await self._w3.provider.connect()
                actual = await self._w3.eth.chain_id
        except ContractError:
            raise
        except ChainError as exc:
            raise ChainNodeUnreachableError(str(exc)) from exc.__cause__
        if actual != self._chain_id:
            raise ChainError(
                f"the node at {url} serves chain id {actual}, not the configured {self._chain_id}",
                advice="Point chain.url at the consortium's nodes or fix chain.chain_id.",
            )

    async def close(self) -> None:
        """Close the HTTP session or the socket."""
        await self._w3.provider.disconnect()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def address(self) -> str:
        """This client's account address (checksummed)."""
        return str(self._account.address)

    @property
    def chain_id(self) -> int:
        """The id of the chain this client is connected to (checked on connect)."""
        return self._chain_id

    @property
    def contract_address(self) -> str:
        """The ledger contract in use; raises ChainError before deploy() or use_contract()."""
        return str(self._ledger().address)

    # ------------------------------------------------------------------ the contract in use

    async def deploy(self) -> TxOutcome:
        """Deploy a new ledger from the artefact, with this account as its admin.

        The client works on the new contract from then on; the outcome carries its address.
        """
        factory = self._w3.eth.contract(
            abi=list(self._artifact.abi), bytecode=self._artifact.bytecode
        )
        outcome = await self._transact(factory.constructor(), "deploy the ledger contract")
        if outcome.contract_address is None:
            raise ChainError("deployment receipt names no contract address")
        self._bind(outcome.contract_address)
        return outcome

    async def use_contract(self, address: str) -> None:
        """Work on the ledger at ``address``, after checking it carries the artefact's code."""
        checksummed = checksum(address)
        async with self._rpc(f"read the code at {checksummed}"):
            code = bytes(await self._w3.eth.get_code(checksummed))
        if code != bytes.fromhex(self._artifact.deployed_bytecode[2:]):
            raise ChainError(
                f"no trustfloor ledger (of this artefact's version) at {checksummed}",
                advice="Check the deployment record's contract address and chain.",
            )
        self._bind(checksummed)

    def _bind(self, address: str) -> None:
        self._contract = self._w3.eth.contract(
            address=checksum(address), abi=list(self._artifact.abi)
        )

    def _ledger(self) -> AsyncContract:
        if self._contract is None:
            raise ChainError("no ledger contract selected: call deploy() or use_contract() first")
        return self._contract

    # ------------------------------------------------------------------ calls and transactions

    async def _view(self, name: str, *args: Any) -> Any:
        function = self._ledger().get_function_by_name(name)(*args)
        async with self._rpc(f"call {name}"):
            return await function.call({"from": self.address})

    async def _call_tx(self, name: str, *args: Any) -> TxOutcome:
        return await self._transact(self._ledger().get_function_by_name(name)(*args), name)

    async def _transact(self, call: Any, what: str) -> TxOutcome:
        """Estimate, sign, send and confirm one transaction; map reverts to ContractError."""
        async with self._send_lock:
            nonce = await self._next_nonce()
            params: TxParams = {
                "from": self.address,
                "chainId": self._chain_id,
                "nonce": Nonce(nonce),
            }
            async with self._rpc(what):
                tx = await call.build_transaction(params)
            tx_hash = await self._send_signed(tx, nonce, what)
        receipt = await self._confirmed(tx_hash, what)
        if receipt["status"] != 1:
            await self._explain_failure(call, receipt, what)
        return self._outcome(receipt)

    async def _send_signed(self, tx: TxParams, nonce: int, what: str) -> bytes:
        """Sign ``tx`` locally and send it; the nonce counter moves on only when it was sent."""
        signed = self._account.sign_transaction(cast(dict[str, Any], tx))
        try:
            async with self._rpc(f"send the transaction to {what}"):
                tx_hash = bytes(await self._w3.eth.send_raw_transaction(signed.raw_transaction))
        except ChainError:
            self._nonce = None  # resynchronise from the node next time
            raise
        self._nonce = nonce + 1
        return tx_hash

    async def _next_nonce(self) -> int:
        if self._nonce is None:
            async with self._rpc("read the account nonce"):
                self._nonce = await self._w3.eth.get_transaction_count(
                    self._account.address, "pending"
                )
        return self._nonce

    async def _confirmed(self, tx_hash: bytes, what: str) -> TxReceipt:
        """The receipt once its block has ``confirmations`` blocks on top (itself included)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        async with self._rpc(f"wait for the transaction to {what}"):
            try:
                receipt = await self._w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=self._timeout, poll_latency=self._poll_interval
                )
            except TimeExhausted as exc:
                raise ChainError(
                    f"transaction to {what} not mined within {self._timeout} s"
                ) from exc
        while True:
            async with self._rpc("read the chain head"):
                head = await self._w3.eth.block_number
                if head >= receipt["blockNumber"] + self._confirmations - 1:
                    fresh = await self._w3.eth.get_transaction_receipt(HexBytes(tx_hash))
                    if fresh["blockHash"] == receipt["blockHash"]:
                        return fresh
                    receipt = fresh  # reorganised into another block: count again
            if loop.time() > deadline:
                raise ChainError(
                    f"transaction to {what} not confirmed by {self._confirmations} blocks "
                    f"within {self._timeout} s"
                )
            await asyncio.sleep(self._poll_interval)

    async def _explain_failure(self, call: Any, receipt: TxReceipt, what: str) -> None:
        """A mined transaction failed: replay it as a call on the state its block left.

        Failures after a successful estimate come from transactions mined just before this
        one (the same root anchored, the quota used up), so that state reproduces the reason.
        """
        block = receipt["blockNumber"]
        async with self._rpc(f"replay the failed transaction to {what}"):
            await call.call({"from": self.address}, block_identifier=block)
        raise ChainError(f"transaction to {what} failed on chain in block {block}")

    # ------------------------------------------------------------------ receipts and errors

    def _outcome(self, receipt: TxReceipt) -> TxOutcome:
        created = receipt.get("contractAddress")
        target = created or (self._contract.address if self._contract is not None else None)
        return TxOutcome(
            tx_hash=bytes(receipt["transactionHash"]),
            block_number=receipt["blockNumber"],
            block_hash=bytes(receipt["blockHash"]),
            gas_used=receipt["gasUsed"],
            events=self._decode_events(receipt, target) if target else (),
            contract_address=str(created) if created else None,
        )

    def _event_topic(self, name: str) -> bytes:
        return next(topic for topic, event in self._events.items() if event == name)

    def _decode_events(
        self, receipt: TxReceipt, address: ChecksumAddress
    ) -> tuple[ContractEvent, ...]:
        """The ledger's events among the receipt's logs, decoded by their ABI."""
        contract = self._w3.eth.contract(address=address, abi=list(self._artifact.abi))
        events: list[ContractEvent] = []
        for log in receipt["logs"]:
            name = self._events.get(bytes(log["topics"][0])) if log["topics"] else None
            if name is None or log["address"] != address:
                continue
            decoded = contract.events[name]().process_log(log)
            events.append(ContractEvent(name, {k: plain(v) for k, v in decoded["args"].items()}))
        return tuple(events)

    @asynccontextmanager
    async def _rpc(self, what: str) -> AsyncIterator[None]:
        """Turn web3 and transport exceptions into ContractError / ChainError."""
        try:
            yield
        except ContractPanicError as exc:
            raise ContractError("Panic", (str(exc.message),)) from exc
        except ContractCustomError as exc:
            raise self._contract_error(exc) from exc
        except ContractLogicError as exc:
            raise ContractError("Revert", (str(exc.message),)) from exc
        except _TRANSPORT_ERRORS as exc:
            raise ChainError(f"cannot {what}: {type(exc).__name__}: {exc}") from exc

    def _contract_error(self, exc: ContractCustomError) -> ContractError:
        data = exc.data if isinstance(exc.data, str) else str(exc.message)
        raw = bytes.fromhex(data.removeprefix("0x"))
        entry = self._errors.get(raw[:4])
        if entry is None:
            return ContractError(
                "Unknown", (raw,), message=f"contract reverted with unknown data 0x{raw.hex()}"
            )
        name, types = entry
        decoded = self._w3.codec.decode(types, raw[4:])
        values = tuple(
            AsyncWeb3.to_checksum_address(v) if t == "address" else plain(v)
            for t, v in zip(types, decoded, strict=True)
        )
        return ContractError(name, values)


def _provider(endpoint: str, timeout_s: float, retries: int) -> AsyncBaseProvider:
    """The web3 provider for an http(s) or ws(s) URL or an IPC socket's absolute path."""
    if endpoint.startswith(("http://", "https://")):
        retry = ExceptionRetryConfiguration(
            errors=(aiohttp.ClientError, TimeoutError), retries=retries
        )
        return AsyncHTTPProvider(
            endpoint,
            request_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout_s)},
            exception_retry_configuration=retry,
        )
    if endpoint.startswith(("ws://", "wss://")):
        return WebSocketProvider(
            endpoint, request_timeout=timeout_s, max_connection_retries=retries
        )
    if Path(endpoint).is_absolute():  # a local node: there at once or not at all
        return AsyncIPCProvider(endpoint, request_timeout=timeout_s, max_connection_retries=1)
    raise ChainError(f"{endpoint!r} is neither an http(s) or ws(s) URL nor an IPC socket path")


def _account(private_key: str) -> LocalAccount:
    try:
        account: LocalAccount = Account.from_key(private_key)
    except (ValueError, TypeError):
        raise ChainError(
            "the chain private key is not a valid secp256k1 key",
            advice="Set the key variable to the 32-byte hex key of the site's account.",
        ) from None  # the cause could quote the key
    return account
