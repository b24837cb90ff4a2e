"""The ledger contract over Ethereum JSON-RPC: the only module that imports web3."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from ledger.contract import (
    AnchorRecord,
    ContractArtifact,
    ContractEvent,
    LicenceState,
    TxOutcome,
)
from ledger.errors import ChainError, ContractError
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
        TransactionNotFound,
        Web3Exception,
    )
    from web3.providers.async_base import AsyncBaseProvider
    from web3.providers.persistent import PersistentConnectionProvider
    from web3.providers.rpc.utils import ExceptionRetryConfiguration
    from web3.types import Nonce, TxParams, TxReceipt, Wei

_TRANSPORT_ERRORS = (Web3Exception, aiohttp.ClientError, OSError, TimeoutError)
_ZERO_ADDRESS = "0x" + "00" * 20


class ChainClient:
    """Sends and reads ledger contract calls for one account on one chain.

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
        self._errors = _error_table(w3, artifact)
        self._events = _event_table(w3, artifact)

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
    ) -> ChainClient:
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
        async with self._rpc(f"reach the chain at {url}"):
            if isinstance(self._w3.provider, PersistentConnectionProvider):
                await self._w3.provider.connect()
            actual = await self._w3.eth.chain_id
        if actual != self._chain_id:
            raise ChainError(
                f"the node at {url} serves chain id {actual}, not the configured {self._chain_id}",
                advice="Point chain.url at the consortium's nodes or fix chain.chain_id.",
            )

    async def close(self) -> None:
        """Close the HTTP session or the socket."""
        await self._w3.provider.disconnect()

    async def __aenter__(self) -> ChainClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    # ------------------------------------------------------------------ deployment

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
        checksum = _checksum(address)
        async with self._rpc(f"read the code at {checksum}"):
            code = bytes(await self._w3.eth.get_code(checksum))
        if code != bytes.fromhex(self._artifact.deployed_bytecode[2:]):
            raise ChainError(
                f"no trustfloor ledger (of this artefact's version) at {checksum}",
                advice="Check the deployment record's contract address and chain.",
            )
        self._bind(checksum)

    def _bind(self, address: str) -> None:
        self._contract = self._w3.eth.contract(
            address=_checksum(address), abi=list(self._artifact.abi)
        )

    async def balance(self, account: str) -> int:
        """The ether ``account`` holds, in wei."""
        async with self._rpc(f"read the balance of {account}"):
            return int(await self._w3.eth.get_balance(_checksum(account)))

    async def transfer(self, to: str, wei: int) -> TxOutcome:
        """Send ``wei`` from this account to ``to``: a plain signed value transfer.

        This is how a PoA chain funds a new member: an account the genesis block funded pays.
        """
        if wei <= 0:
            raise ChainError(f"a transfer needs a positive amount, got {wei} wei")
        async with self._send_lock:
            nonce = await self._next_nonce()
            params: TxParams = {
                "from": self.address,
                "to": _checksum(to),
                "value": Wei(wei),
                "chainId": self._chain_id,
                "nonce": Nonce(nonce),
            }
            async with self._rpc(f"price the transfer to {to}"):
                params["gas"] = await self._w3.eth.estimate_gas(params)
                fees = await self._w3.eth.fee_history(1, "latest", [])
                tip = await self._w3.eth.max_priority_fee
            params["maxPriorityFeePerGas"] = tip
            params["maxFeePerGas"] = Wei(2 * fees["baseFeePerGas"][-1] + tip)
            tx_hash = await self._send_signed(params, nonce, f"transfer ether to {to}")
        return self._outcome(await self._confirmed(tx_hash, f"transfer ether to {to}"))

    # ------------------------------------------------------------------ administration

    async def add_issuer(self, issuer: str) -> TxOutcome:
        """Allow ``issuer`` to anchor (admin only; idempotent)."""
        return await self._call_tx("addIssuer", _checksum(issuer))

    async def remove_issuer(self, issuer: str) -> TxOutcome:
        """Stop ``issuer`` from anchoring (admin only; idempotent)."""
        return await self._call_tx("removeIssuer", _checksum(issuer))

    async def add_oem(self, oem: str) -> TxOutcome:
        """Allow ``oem`` to register designs and grant licences (admin only; idempotent)."""
        return await self._call_tx("addOem", _checksum(oem))

    async def remove_oem(self, oem: str) -> TxOutcome:
        """Stop ``oem`` from registering designs and changing licences (admin only)."""
        return await self._call_tx("removeOem", _checksum(oem))

    async def transfer_admin(self, new_admin: str) -> TxOutcome:
        """Hand the admin role to ``new_admin`` (admin only)."""
        return await self._call_tx("transferAdmin", _checksum(new_admin))

    # ------------------------------------------------------------------ designs and licences

    async def register_design(self, design_key: bytes, dossier_hash: bytes) -> TxOutcome:
        """Register a design revision's dossier hash, once (OEM only)."""
        return await self._call_tx(
            "registerDesign",
            _bytes32(design_key, "design key"),
            _bytes32(dossier_hash, "dossier hash"),
        )

    async def set_licence(self, design_key: bytes, licensee: str, quota: int) -> TxOutcome:
        """Set ``licensee``'s total piece quota of a design (the design's OEM only)."""
        return await self._call_tx(
            "setLicence",
            _bytes32(design_key, "design key"),
            _checksum(licensee),
            _uint64(quota, "quota"),
        )

    # ------------------------------------------------------------------ anchoring

    async def anchor(
        self, root: bytes, size: int, pieces: Mapping[bytes, int] | None = None
    ) -> TxOutcome:
        """Anchor the root of a batch of ``size`` certificates, once (allow-listed issuers only).

        ``pieces`` maps design keys to the pieces of each the batch certifies; they are counted
        against this account's licences and the call reverts past a quota.
        """
        pieces = pieces or {}
        keys = [_bytes32(k, "design key") for k in pieces]
        counts = [_uint64(n, "piece count") for n in pieces.values()]
        return await self._call_tx(
            "anchor", _bytes32(root, "root"), _uint64(size, "batch size"), keys, counts
        )

    # ------------------------------------------------------------------ reads

    async def anchored_at(self, root: bytes) -> AnchorRecord | None:
        """The anchor of ``root``, or None when it was never anchored.

        The contract keeps the block number; its timestamp is read from the block.
        """
        block, issuer, size = await self._view("anchoredAt", _bytes32(root, "root"))
        if issuer == _ZERO_ADDRESS:
            return None
        async with self._rpc(f"read block {block}"):
            timestamp = (await self._w3.eth.get_block(block))["timestamp"]
        return AnchorRecord(
            root=bytes(root), size=size, issuer=issuer, block_number=block, timestamp=timestamp
        )

    async def anchoring_transaction(self, root: bytes) -> TxOutcome | None:
        """The transaction that anchored ``root`` (found by its Anchored event), or None."""
        record = await self.anchored_at(root)
        if record is None:
            return None
        topic = self._event_topic("Anchored")
        async with self._rpc(f"read the Anchored event of 0x{root.hex()}"):
            logs = await self._w3.eth.get_logs(
                {
                    "address": self._ledger().address,
                    "fromBlock": record.block_number,
                    "toBlock": record.block_number,
                    "topics": [HexBytes(topic), HexBytes(_bytes32(root, "root"))],
                }
            )
        if not logs:
            raise ChainError(f"root 0x{root.hex()} is anchored but its event is missing")
        return await self.transaction(bytes(logs[0]["transactionHash"]))

    async def transaction(self, tx_hash: bytes) -> TxOutcome | None:
        """A mined, successful transaction with the ledger's events decoded; None otherwise."""
        try:
            async with self._rpc(f"read transaction 0x{tx_hash.hex()}"):
                receipt = await self._w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except ChainError as exc:
            if isinstance(exc.__cause__, TransactionNotFound):
                return None
            raise
        if receipt["status"] != 1:
            return None
        return self._outcome(receipt)

    async def mark_revoked(
        self, leaf_hash: bytes, certificate_root: bytes, record_root: bytes
    ) -> TxOutcome:
        """Mark a certificate revoked by a revocation record anchored under ``record_root``."""
        return await self._call_tx(
            "markRevoked",
            _bytes32(leaf_hash, "leaf hash"),
            _bytes32(certificate_root, "certificate root"),
            _bytes32(record_root, "record root"),
        )

    async def revocation_of(self, leaf_hash: bytes, issuer: str) -> bytes | None:
        """The root of the batch holding ``issuer``'s revocation of a certificate, or None."""
        value = bytes(
            await self._view("revocationOf", _bytes32(leaf_hash, "leaf hash"), _checksum(issuer))
        )
        return None if value == bytes(32) else value

    async def design_oem(self, design_key: bytes) -> str | None:
        """The OEM that registered a design revision, or None when unregistered."""
        oem = str(await self._view("designOem", _bytes32(design_key, "design key")))
        return None if oem == _ZERO_ADDRESS else oem

    async def is_issuer(self, account: str) -> bool:
        """Whether ``account`` is on the issuer allow-list."""
        return bool(await self._view("isIssuer", _checksum(account)))

    async def is_oem(self, account: str) -> bool:
        """Whether ``account`` may register designs."""
        return bool(await self._view("isOem", _checksum(account)))

    async def admin(self) -> str:
        """The consortium admin's address."""
        return str(await self._view("admin"))

    async def dossier_hash(self, design_key: bytes) -> bytes | None:
        """The registered dossier hash of a design revision, or None when unregistered."""
        value = bytes(await self._view("dossierHash", _bytes32(design_key, "design key")))
        return None if value == bytes(32) else value

    async def licence(self, design_key: bytes, licensee: str) -> LicenceState:
        """``licensee``'s quota of a design and the pieces counted so far."""
        quota, used = await self._view(
            "licence", _bytes32(design_key, "design key"), _checksum(licensee)
        )
        return LicenceState(quota=quota, used=used)

    # ------------------------------------------------------------------ plumbing

    def _ledger(self) -> AsyncContract:
        if self._contract is None:
            raise ChainError("no ledger contract selected: call deploy() or use_contract() first")
        return self._contract

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
            events.append(ContractEvent(name, {k: _plain(v) for k, v in decoded["args"].items()}))
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
            AsyncWeb3.to_checksum_address(v) if t == "address" else _plain(v)
            for t, v in zip(types, decoded, strict=True)
        )
        return ContractError(name, values)


def _error_table(
    w3: AsyncWeb3[AsyncBaseProvider], artifact: ContractArtifact
) -> dict[bytes, tuple[str, list[str]]]:
    """Custom error selector -> (name, argument types) (Solidity ABI spec, "Errors")."""
    table: dict[bytes, tuple[str, list[str]]] = {}
    for entry in artifact.entries("error"):
        types = [str(i["type"]) for i in entry.get("inputs", [])]
        selector = bytes(w3.keccak(text=f"{entry['name']}({','.join(types)})"))[:4]
        table[selector] = (str(entry["name"]), types)
    return table


def _event_table(w3: AsyncWeb3[AsyncBaseProvider], artifact: ContractArtifact) -> dict[bytes, str]:
    """Event topic 0 -> event name (Solidity ABI spec, "Events")."""
    table: dict[bytes, str] = {}
    for entry in artifact.entries("event"):
        types = ",".join(str(i["type"]) for i in entry.get("inputs", []))
        table[bytes(w3.keccak(text=f"{entry['name']}({types})"))] = str(entry["name"])
    return table


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


def _checksum(address: str) -> ChecksumAddress:
    if not AsyncWeb3.is_address(address):
        raise ChainError(f"{address!r} is not an Ethereum address")
    return AsyncWeb3.to_checksum_address(address)


def _bytes32(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ChainError(f"{what} must be 32 bytes")
    return bytes(value)


def _uint64(value: int, what: str) -> int:
    if not 0 <= value < 2**64:
        raise ChainError(f"{what} must fit in 64 unsigned bits, got {value}")
    return value


def _plain(value: object) -> object:
    """bytes-like values as bytes; everything else (ints, address strings) unchanged."""
    return bytes(value) if isinstance(value, bytes | bytearray) else value
