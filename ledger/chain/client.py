"""The ledger contract's functions for one account: roles, designs and licences, anchors, reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.canonical import canonical_json
from ledger.chain.encoding import (
    ZERO_ADDRESS,
    bytes32,
    checksum,
    currency_code,
    uint32,
    uint40,
    uint64,
)
from ledger.chain.session import ContractSession
from ledger.contract import OPEN_END, AnchorRecord, LicenceGrant, LicenceState, TxOutcome
from ledger.errors import ChainError
from ledger.qbft import BlockHeader, QbftHeaderError
from ledger.recursion import kept_recursion_limit
from ledger.signing import same_address

with kept_recursion_limit():  # py_ecc (under eth_account) raises it at import
    from hexbytes import HexBytes
    from web3.contract import AsyncContract
    from web3.exceptions import TransactionNotFound
    from web3.types import BlockIdentifier, Nonce, RPCEndpoint, TxParams, TxReceipt, Wei


class ChainClient(ContractSession):
    """Sends and reads ledger contract calls for one account on one chain.

    Create with ``await ChainClient.connect(...)`` and close with ``await client.close()``
    (or ``async with``); see ContractSession for how transactions are signed and confirmed.
    """

    async def balance(self, account: str) -> int:
        """The ether ``account`` holds, in wei."""
        async with self._rpc(f"read the balance of {account}"):
            return int(await self._w3.eth.get_balance(checksum(account)))

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
                "to": checksum(to),
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
        return await self._call_tx("addIssuer", checksum(issuer))

    async def remove_issuer(self, issuer: str) -> TxOutcome:
        """Stop ``issuer`` from anchoring (admin only; idempotent)."""
        return await self._call_tx("removeIssuer", checksum(issuer))

    async def add_oem(self, oem: str) -> TxOutcome:
        """Allow ``oem`` to register designs and grant licences (admin only; idempotent)."""
        return await self._call_tx("addOem", checksum(oem))

    async def remove_oem(self, oem: str) -> TxOutcome:
        """Stop ``oem`` from registering designs and changing licences (admin only)."""
        return await self._call_tx("removeOem", checksum(oem))

    async def transfer_admin(self, new_admin: str) -> TxOutcome:
        """Hand the admin role to ``new_admin`` (admin only)."""
        return await self._call_tx("transferAdmin", checksum(new_admin))

    # ------------------------------------------------------------------ designs and licences

    async def register_design(
        self, design_id: str, revision: str, dossier_hash: bytes
    ) -> TxOutcome:
        """Register a design revision's dossier hash, once (OEM only; the first OEM to register
        ``design_id`` owns its revisions). The contract derives the design key from the id and
        revision as ``ledger.canonical.design_key`` does."""
        return await self._call_tx(
            "registerDesign",
            canonical_json(design_id),
            canonical_json(revision),
            bytes32(dossier_hash, "dossier hash"),
        )

    async def set_licence(
        self,
        design_key: bytes,
        licensee: str,
        quota: int,
        *,
        overdraft: int = 0,
        valid_from: int = 0,
        valid_until: int = OPEN_END,
        price_micros: int = 0,
        currency: str = "",
    ) -> TxOutcome:
        """Grant ``licensee`` a licence of a design or change its terms (the design's OEM only):
        ``quota`` pieces, ``overdraft`` more past it, counted from ``valid_from`` until before
        ``valid_until`` (Unix seconds), at ``price_micros`` millionths of ``currency`` (ISO
        4217) per piece. Lifts a revocation; pieces counted stay counted."""
        return await self._call_tx(
            "setLicence",
            bytes32(design_key, "design key"),
            checksum(licensee),
            uint64(quota, "quota"),
            uint32(overdraft, "overdraft"),
            uint40(valid_from, "licence start"),
            uint40(valid_until, "licence end"),
            uint64(price_micros, "price"),
            currency_code(currency),
        )

    async def revoke_licence(self, design_key: bytes, licensee: str) -> TxOutcome:
        """Revoke ``licensee``'s licence of a design (the design's OEM only; idempotent)."""
        return await self._call_tx(
            "revokeLicence", bytes32(design_key, "design key"), checksum(licensee)
        )

    # ------------------------------------------------------------------ anchoring

    async def anchor(
        self,
        root: bytes,
        size: int,
        pieces: Mapping[bytes, int] | None = None,
        *,
        sequence: int | None = None,
    ) -> TxOutcome:
        """Anchor the root of a batch of ``size`` certificates (allow-listed issuers only).

        ``pieces`` maps design keys to the pieces of each the batch certifies; they are counted
        against this account's licences and the call reverts past a quota. ``sequence`` is the
        number this anchor takes among the account's anchors (``next_sequence()`` read before
        looking for an earlier anchor of the root): the contract refuses a number already
        taken with WrongSequence, so a resent anchor never counts twice. Without it the
        client numbers its anchors itself, in the order of their nonces.
        """
        pieces = pieces or {}
        args = (
            bytes32(root, "root"),
            uint64(size, "batch size"),
            [bytes32(k, "design key") for k in pieces],
            [uint64(n, "piece count") for n in pieces.values()],
        )
        if self.keeps_anchors_in_storage:
            return await self._call_tx("anchor", *args)
        async with self._send_lock:
            number = await self._next_sequence() if sequence is None else sequence
            call = self._ledger().get_function_by_name("anchor")(
                args[0], args[1], uint64(number, "sequence"), args[2], args[3]
            )
            try:
                tx_hash = await self._send_call(call, "anchor")
            except ChainError:
                self._sequence = None  # read it from the chain next time
                raise
            self._sequence = number + 1
        try:
            return await self._settle(call, tx_hash, "anchor")
        except ChainError:
            self._sequence = None
            raise

    async def next_sequence(self) -> int:
        """The sequence number this account's next anchor must name, as the latest block
        says (anchors still waiting in the pool are not counted)."""
        return int(await self._view("nextSequence", self.address))

    async def _next_sequence(self) -> int:
        if self._sequence is None:
            self._sequence = await self.next_sequence()
        return self._sequence

    async def mark_revoked(
        self, leaf_hash: bytes, certificate_root: bytes, record_root: bytes
    ) -> TxOutcome:
        """Mark a certificate revoked by a revocation record anchored under ``record_root``."""
        return await self._call_tx(
            "markRevoked",
            bytes32(leaf_hash, "leaf hash"),
            bytes32(certificate_root, "certificate root"),
            bytes32(record_root, "record root"),
        )

    # ------------------------------------------------------------------ reads

    async def anchored_at(self, root: bytes) -> AnchorRecord | None:
        """The first anchor of ``root`` on this ledger (its Anchored events), else on the
        version 1 ledger it follows; None when it was never anchored. The timestamp is read
        from the block."""
        root = bytes32(root, "root")
        if self.keeps_anchors_in_storage:
            return await self._stored_anchor(self._ledger(), root)
        logs = await self._anchored_logs(root, None)
        if logs:
            return await self._anchor_record(logs[0])
        if self._predecessor is not None:
            return await self._stored_anchor(self._predecessor, root)
        return None

    async def anchor_in(
        self, root: bytes, tx_hash: bytes, ledger: str | None = None
    ) -> AnchorRecord | None:
        """The anchor of ``root`` made by transaction ``tx_hash`` on ``ledger`` (the one in
        use, or the version 1 ledger it follows; None: the one in use, then that one); None
        when that transaction anchors no such root there.

        A version 2 anchor is the Anchored event in the transaction's receipt whose log
        address is the ledger's: no other contract can emit a log with that address, and the
        node answers receipts of canonical blocks only. A version 1 anchor is read from that
        ledger's storage, as before.
        """
        root = bytes32(root, "root")
        if ledger is None:
            found = await self.anchor_in(root, tx_hash, self.contract_address)
            if found is None and self._predecessor is not None:
                found = await self._stored_anchor(self._predecessor, root)
            return found
        if self._predecessor is not None and same_address(ledger, self._predecessor.address):
            return await self._stored_anchor(self._predecessor, root)
        if not same_address(ledger, self.contract_address):
            return None
        if self.keeps_anchors_in_storage:
            return await self._stored_anchor(self._ledger(), root)
        receipt = await self._receipt(tx_hash)
        if receipt is None or receipt["status"] != 1:
            return None
        topic = self._event_topic("Anchored")
        for log in receipt["logs"]:
            topics = [bytes(t) for t in log["topics"]]
            if same_address(log["address"], self.contract_address) and topics[:2] == [topic, root]:
                return await self._anchor_record(log)
        return None

    async def anchoring_transaction(self, root: bytes) -> TxOutcome | None:
        """The transaction in which this account anchored ``root``, or None."""
        found = await self.own_anchor(root)
        return None if found is None else found[1]

    async def own_anchor(self, root: bytes) -> tuple[str, TxOutcome] | None:
        """The ledger and transaction in which this account first anchored ``root``: on the
        ledger in use, else on the version 1 ledger it follows; None when it never did."""
        root = bytes32(root, "root")
        if self.keeps_anchors_in_storage:
            return await self._stored_anchor_transaction(self._ledger(), root)
        logs = await self._anchored_logs(root, self.address)
        if logs:
            outcome = await self.transaction(bytes(logs[0]["transactionHash"]))
            return None if outcome is None else (self.contract_address, outcome)
        if self._predecessor is not None:
            found = await self._stored_anchor_transaction(self._predecessor, root)
            if found is not None and found[1].events_named("Anchored"):
                [event] = found[1].events_named("Anchored")
                if same_address(str(event.args["issuer"]), self.address):
                    return found
        return None

    async def _anchored_logs(self, root: bytes, issuer: str | None) -> list[Any]:
        """This ledger's Anchored logs of ``root`` (by ``issuer`` when given), oldest first."""
        topics = [HexBytes(self._event_topic("Anchored")), HexBytes(root)]
        if issuer is not None:
            topics.append(HexBytes(_address_topic(issuer)))
        async with self._rpc(f"read the Anchored events of 0x{root.hex()}"):
            return list(
                await self._w3.eth.get_logs(
                    {
                        "address": self._ledger().address,
                        "fromBlock": await self._deployment_block(),
                        "toBlock": "latest",
                        "topics": topics,
                    }
                )
            )

    async def _deployment_block(self) -> int:
        if self._first_block is None:
            self._first_block = int(await self._view("deploymentBlock"))
        return self._first_block

    async def _anchor_record(self, log: Mapping[str, Any]) -> AnchorRecord:
        """The anchor an Anchored log of this ledger states."""
        args = self._ledger().events.Anchored().process_log(log)["args"]
        block = int(log["blockNumber"])
        return AnchorRecord(
            root=bytes(args["root"]),
            size=int(args["size"]),
            issuer=str(args["issuer"]),
            block_number=block,
            timestamp=await self.block_time(block),
        )

    async def _stored_anchor(self, ledger: AsyncContract, root: bytes) -> AnchorRecord | None:
        """A version 1 ledger's record of ``root`` (anchoredAt), or None."""
        async with self._rpc("call anchoredAt"):
            block, issuer, size = await ledger.functions.anchoredAt(root).call(
                {"from": self.address}
            )
        if issuer == ZERO_ADDRESS:
            return None
        return AnchorRecord(
            root=root,
            size=size,
            issuer=issuer,
            block_number=block,
            timestamp=await self.block_time(block),
        )

    async def _stored_anchor_transaction(
        self, ledger: AsyncContract, root: bytes
    ) -> tuple[str, TxOutcome] | None:
        """The transaction that anchored ``root`` on a version 1 ledger, found by its event."""
        record = await self._stored_anchor(ledger, root)
        if record is None:
            return None
        topic = self._v1_event_topic("Anchored")
        async with self._rpc(f"read the Anchored event of 0x{root.hex()}"):
            logs = await self._w3.eth.get_logs(
                {
                    "address": ledger.address,
                    "fromBlock": record.block_number,
                    "toBlock": record.block_number,
                    "topics": [HexBytes(topic), HexBytes(root)],
                }
            )
        if not logs:
            raise ChainError(f"root 0x{root.hex()} is anchored but its event is missing")
        outcome = await self.transaction(bytes(logs[0]["transactionHash"]))
        return None if outcome is None else (str(ledger.address), outcome)

    async def transaction(self, tx_hash: bytes) -> TxOutcome | None:
        """A mined, successful transaction with the ledger's events (and its predecessor's)
        decoded; None otherwise."""
        receipt = await self._receipt(tx_hash)
        if receipt is None or receipt["status"] != 1:
            return None
        return self._outcome(receipt)

    async def _receipt(self, tx_hash: bytes) -> TxReceipt | None:
        """The receipt of a mined transaction; None when the node knows no such one."""
        try:
            async with self._rpc(f"read transaction 0x{tx_hash.hex()}"):
                return await self._w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except ChainError as exc:
            if isinstance(exc.__cause__, TransactionNotFound):
                return None
            raise

    async def revocation_of(self, leaf_hash: bytes, issuer: str) -> bytes | None:
        """The root of the batch holding ``issuer``'s revocation of a certificate, marked on
        this ledger or on the version 1 ledger it follows; None when there is none."""
        key, account = bytes32(leaf_hash, "leaf hash"), checksum(issuer)
        value = bytes(await self._view("revocationOf", key, account))
        if value == bytes(32) and self._predecessor is not None:
            async with self._rpc("call revocationOf"):
                value = bytes(
                    await self._predecessor.functions.revocationOf(key, account).call(
                        {"from": self.address}
                    )
                )
        return None if value == bytes(32) else value

    async def is_issuer(self, account: str) -> bool:
        """Whether ``account`` is on the issuer allow-list."""
        return bool(await self._view("isIssuer", checksum(account)))

    async def is_oem(self, account: str) -> bool:
        """Whether ``account`` may register designs."""
        return bool(await self._view("isOem", checksum(account)))

    async def admin(self) -> str:
        """The consortium admin's address."""
        return str(await self._view("admin"))

    async def dossier_hash(self, design_key: bytes) -> bytes | None:
        """The registered dossier hash of a design revision, or None when unregistered."""
        value = bytes(await self._view("dossierHash", bytes32(design_key, "design key")))
        return None if value == bytes(32) else value

    async def design_oem(self, design_key: bytes) -> str | None:
        """The OEM that registered a design revision, or None when unregistered."""
        value = str(await self._view("designOem", bytes32(design_key, "design key")))
        return None if value == ZERO_ADDRESS else value

    async def design_line_oem(self, design_id: str) -> str | None:
        """The OEM that owns every revision of ``design_id``, or None when none registered it."""
        line = bytes(self._w3.keccak(canonical_json(design_id)))
        value = str(await self._view("designLineOem", line))
        return None if value == ZERO_ADDRESS else value

    async def licence(self, design_key: bytes, licensee: str) -> LicenceState:
        """``licensee``'s licence of a design: its terms and the pieces counted so far."""
        quota, used, overdraft, valid_from, valid_until, revoked = await self._view(
            "licence", bytes32(design_key, "design key"), checksum(licensee)
        )
        return LicenceState(quota, used, overdraft, valid_from, valid_until, bool(revoked))

    # ------------------------------------------------------------------ history

    async def licence_grants(
        self, design_key: bytes, licensee: str | None = None
    ) -> list[LicenceGrant]:
        """Every grant or change of the licences of a design (of one licensee when given), in
        chain order, read from the LicenceSet events."""
        topics: list[bytes | None] = [bytes32(design_key, "design key")]
        if licensee is not None:
            topics.append(_address_topic(licensee))
        grants = []
        for log, args in await self._read_events("LicenceSet", topics):
            terms = LicenceState(
                int(args["quota"]),
                0,
                int(args["overdraft"]),
                int(args["validFrom"]),
                int(args["validUntil"]),
            )
            currency = bytes(args["currency"]).rstrip(b"\0").decode("ascii", "replace")
            grants.append(
                LicenceGrant(
                    design_key=bytes(design_key),
                    licensee=str(args["licensee"]),
                    terms=terms,
                    price_micros=int(args["priceMicros"]),
                    currency=currency,
                    block_number=int(log["blockNumber"]),
                    tx_hash=bytes(log["transactionHash"]),
                )
            )
        return grants

    async def revocations_of_licence(self, design_key: bytes, licensee: str) -> list[int]:
        """The block numbers where the design's OEM revoked ``licensee``'s licence."""
        topics = [
            bytes32(design_key, "design key"),
            bytes(12) + bytes.fromhex(checksum(licensee)[2:]),
        ]
        return [
            int(log["blockNumber"]) for log, _ in await self._read_events("LicenceRevoked", topics)
        ]

    async def pieces_counted(
        self, design_key: bytes, licensee: str
    ) -> list[tuple[int, bytes, int]]:
        """Every count of ``licensee``'s pieces of a design: (block, transaction, pieces), in
        chain order, read from the PiecesCounted events."""
        topics = [bytes32(design_key, "design key"), _address_topic(licensee)]
        events = await self._read_events("PiecesCounted", topics)
        return [
            (int(log["blockNumber"]), bytes(log["transactionHash"]), int(args["pieces"]))
            for log, args in events
        ]

    async def head(self) -> tuple[int, int]:
        """The latest block's number and timestamp."""
        async with self._rpc("read the chain head"):
            block = await self._w3.eth.get_block("latest")
        return int(block["number"]), int(block["timestamp"])

    async def qbft_header(self, number: int) -> bytes | None:
        """Block ``number``'s header (RLP, as ledger.qbft reads it) when its extraData is QBFT's
        (a Besu QBFT chain, whose commit seals verify offline); None on any other chain."""
        async with self._rpc(f"read block {number}"):
            answer = await self._w3.provider.make_request(
                RPCEndpoint("eth_getBlockByNumber"), [hex(number), False]
            )
        block = answer.get("result")
        if not isinstance(block, dict):
            raise ChainError(f"the node answers no block {number}: {answer.get('error')}")
        try:
            return BlockHeader.from_rpc(block).rlp()
        except QbftHeaderError:
            return None

    async def block_time(self, number: int) -> int:
        """The timestamp of block ``number``."""
        async with self._rpc(f"read block {number}"):
            return int((await self._w3.eth.get_block(number))["timestamp"])

    async def last_block_before(self, timestamp: int) -> int | None:
        """The last block whose time is before ``timestamp`` (binary search); None when the
        chain starts later."""
        low, high = 0, (await self.head())[0]
        if await self.block_time(low) >= timestamp:
            return None
        while low < high:  # invariant: block ``low`` is before ``timestamp``
            middle = (low + high + 1) // 2
            if await self.block_time(middle) < timestamp:
                low = middle
            else:
                high = middle - 1
        return low

    async def licence_at(self, design_key: bytes, licensee: str, block: int) -> LicenceState:
        """``licensee``'s licence of a design as it stood at the end of block ``block`` (on the
        version 1 ledger this one follows when ``block`` is before this one's deployment)."""
        ledger = self._ledger()
        if self._predecessor is not None and block < await self._deployment_block():
            ledger = self._predecessor
        function = ledger.get_function_by_name("licence")(
            bytes32(design_key, "design key"), checksum(licensee)
        )
        async with self._rpc(f"read the licence at block {block}"):
            values = await function.call({"from": self.address}, block_identifier=block)
        quota, used, overdraft, valid_from, valid_until, revoked = values
        return LicenceState(quota, used, overdraft, valid_from, valid_until, bool(revoked))

    async def _read_events(
        self, name: str, topics: Sequence[bytes | None]
    ) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
        """The ledger's ``name`` events matching the indexed ``topics``, raw and decoded, in
        chain order: those its version 1 predecessor logged before it was deployed, then its
        own. (The licence and counting events are the same in both versions.)"""
        filter_topics: list[HexBytes | None] = [HexBytes(self._event_topic(name))]
        filter_topics += [HexBytes(t) if t is not None else None for t in topics]
        start = 0 if self.keeps_anchors_in_storage else await self._deployment_block()
        spans: list[tuple[AsyncContract, int, BlockIdentifier]] = [
            (self._ledger(), start, "latest")
        ]
        if self._predecessor is not None and start > 0:
            spans.insert(0, (self._predecessor, 0, start - 1))
        decoded: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
        for contract, first, last in spans:
            async with self._rpc(f"read the {name} events"):
                logs = await self._w3.eth.get_logs(
                    {
                        "address": contract.address,
                        "fromBlock": first,
                        "toBlock": last,
                        "topics": filter_topics,
                    }
                )
            for log in logs:
                event = contract.events[name]().process_log(log)
                decoded.append((dict(log), dict(event["args"])))
        return decoded


def _address_topic(address: str) -> bytes:
    """An indexed address argument as its 32-byte log topic."""
    return bytes(12) + bytes.fromhex(checksum(address)[2:])
