"""One account's session with the ledger contract: connection, signing, confirmations, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self, cast

from ledger.chain.encoding import ZERO_ADDRESS, checksum, error_table, event_table, plain
from ledger.chain.v1 import is_v1, v1_artifact
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
        self._predecessor: AsyncContract | None = None
        self._nonce: int | None = None
        self._sequence: int | None = None
        self._first_block: int | None = None
        self._send_lock = asyncio.Lock()
        self._v1 = v1_artifact()
        self._errors = error_table(w3, self._v1) | error_table(w3, artifact)
        self._events = event_table(w3, artifact)
        self._v1_events = event_table(w3, self._v1)

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

    @property
    def predecessor(self) -> str | None:
        """The version 1 ledger the one in use follows (its anchors stay there), or None."""
        return None if self._predecessor is None else str(self._predecessor.address)

    @property
    def keeps_anchors_in_storage(self) -> bool:
        """Whether the ledger in use is of version 1 (each root in a mapping) rather than
        version 2 (each anchor an event, a sequence per issuer)."""
        return is_v1(self._artifact)

    # ------------------------------------------------------------------ the contract in use

    async def deploy(self, predecessor: str | None = None) -> TxOutcome:
        """Deploy a new ledger from the artefact, with this account as its admin.

        ``predecessor`` is the version 1 ledger the new one follows: verifiers that trust the
        new ledger read the anchors made there. The client works on the new contract from
        then on; the outcome carries its address.
        """
        factory = self._w3.eth.contract(
            abi=list(self._artifact.abi), bytecode=self._artifact.bytecode
        )
        if self.keeps_anchors_in_storage:
            if predecessor is not None:
                raise ChainError("a version 1 ledger follows no other ledger")
            constructor = factory.constructor()
        else:
            constructor = factory.constructor(checksum(predecessor or ZERO_ADDRESS))
        outcome = await self._transact(constructor, "deploy the ledger contract")
        if outcome.contract_address is None:
            raise ChainError("deployment receipt names no contract address")
        self._bind(outcome.contract_address)
        await self._bind_predecessor()
        return outcome

    async def use_contract(self, address: str) -> None:
        """Work on the ledger at ``address``, after checking it carries the artefact's code."""
        checksummed = checksum(address)
        if not await self._carries(checksummed, self._artifact):
            if not self.keeps_anchors_in_storage and await self.carries_v1_ledger(checksummed):
                raise ChainError(
                    f"the ledger at {checksummed} is of version 1; this trustfloor anchors on "
                    "version 2 ledgers",
                    advice="The consortium admin deploys a version 2 ledger that follows it "
                    "(`trustfloor chain serve` does so on start); configure its address.",
                )
            raise ChainError(
                f"no trustfloor ledger (of this artefact's version) at {checksummed}",
                advice="Check the deployment record's contract address and chain.",
            )
        self._bind(checksummed)
        await self._bind_predecessor()

    async def carries_v1_ledger(self, address: str) -> bool:
        """Whether ``address`` holds a version 1 ledger (one to deploy a successor of)."""
        return await self._carries(checksum(address), self._v1)

    async def _carries(self, address: ChecksumAddress, artifact: ContractArtifact) -> bool:
        async with self._rpc(f"read the code at {address}"):
            code = bytes(await self._w3.eth.get_code(address))
        return code == bytes.fromhex(artifact.deployed_bytecode[2:])

    def _bind(self, address: str) -> None:
        self._contract = self._w3.eth.contract(
            address=checksum(address), abi=list(self._artifact.abi)
        )
        self._predecessor = None
        self._sequence = None
        self._first_block = None

    async def _bind_predecessor(self) -> None:
        """Read the ledger the one in use follows and bind it with the version 1 ABI."""
        if self.keeps_anchors_in_storage:
            return
        address = str(await self._view("predecessor"))
        if address == ZERO_ADDRESS:
            return
        if not await self.carries_v1_ledger(address):
            raise ChainError(
                f"the ledger at {self.contract_address} follows {address}, "
                "which holds no version 1 trustfloor ledger",
                advice="Deploy the ledger again naming the version 1 ledger it follows.",
            )
        self._predecessor = self._w3.eth.contract(address=checksum(address), abi=list(self._v1.abi))

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
            tx_hash = await self._send_call(call, what)
        return await self._settle(call, tx_hash, what)

    async def _send_call(self, call: Any, what: str) -> bytes:
        """Estimate, sign and send ``call`` with the next nonce; hold ``_send_lock``."""
        nonce = await self._next_nonce()
        params: TxParams = {
            "from": self.address,
            "chainId": self._chain_id,
            "nonce": Nonce(nonce),
        }
        async with self._rpc(what):
            tx = await call.build_transaction(params)
        return await self._send_signed(tx, nonce, what)

    async def _settle(self, call: Any, tx_hash: bytes, what: str) -> TxOutcome:
        """The outcome of a sent call once confirmed; ContractError when it reverted."""
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

    def _v1_event_topic(self, name: str) -> bytes:
        return next(topic for topic, event in self._v1_events.items() if event == name)

    def _decode_events(
        self, receipt: TxReceipt, address: ChecksumAddress
    ) -> tuple[ContractEvent, ...]:
        """The ledger's events among the receipt's logs, decoded by their ABI; and those of
        its predecessor, by the version 1 ABI. Logs of any other address are skipped."""
        readers = {
            address: (
                self._w3.eth.contract(address=address, abi=list(self._artifact.abi)),
                self._events,
            )
        }
        if self._predecessor is not None:
            readers[self._predecessor.address] = (self._predecessor, self._v1_events)
        events: list[ContractEvent] = []
        for log in receipt["logs"]:
            reader = readers.get(log["address"])
            if reader is None or not log["topics"]:
                continue
            contract, table = reader
            name = table.get(bytes(log["topics"][0]))
            if name is None:
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
