// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title TrustfloorLedger: write-once anchors of certificate batch roots, design dossiers and
///        per-licensee piece counts for a consortium of OEMs and printing sites.
/// @notice The consortium admin keeps two allow-lists: issuers (printing sites that anchor
///         certificate batches) and OEMs (owners of designs). An OEM registers the dossier hash
///         of each design revision once (the first OEM to register a design id owns every
///         revision of it) and grants each licensee a licence with terms (a piece quota, an
///         overdraft, a validity period), changes or revokes it. An issuer anchors the RFC 6962
///         root of a batch by an `Anchored` event that names the root, the issuer, the batch
///         size and the issuer's anchor sequence number; the call counts the pieces of each
///         design the batch certifies against the issuer's own licence, within its terms. An
///         issuer revokes a certificate by anchoring a signed revocation record and marking
///         the certificate's leaf hash revoked, so online verifiers find it.
/// @dev Version 2. Anchors are not kept in storage: a verifier reads the `Anchored` event from
///      the anchoring transaction's receipt (only this contract can emit a log with its
///      address). Storage keeps, per issuer, one slot updated in place: the allow-list flag
///      and the number of anchors so far, which each anchor must name as its sequence number,
///      so a resent anchor racing the first is refused and nothing is counted twice.
///      Version 1 (contracts/v1, ledger/contract_artifact_v1.json) kept each root in a
///      mapping; a version 2 ledger names the version 1 ledger it follows (`predecessor`),
///      whose anchors stay readable there.
///      Regenerate ledger/contract_artifact.json with `node contracts/compile.mjs` after any
///      change; tests/integration/ledger/test_contract_artifact.py checks it is current.
/// @dev What a version 2 ledger reads of the version 1 ledger it follows: who owns a design
///      line and which dossier a design revision registered, so neither changes on upgrade.
interface TrustfloorLedgerV1 {
    function designLineOem(bytes32 lineKey) external view returns (address);
    function dossierHash(bytes32 designKey) external view returns (bytes32);
    function designOem(bytes32 designKey) external view returns (address);
}

contract TrustfloorLedger {
    /// @dev One storage slot (8 + 64 bits): the anchoring path reads and rewrites only it for
    ///      the allow-list check and the sequence (nonzero to nonzero: no new slot per anchor).
    struct Issuer {
        bool allowed;
        uint64 anchors;
    }

    struct Design {
        address oem;
        bytes32 dossierHash;
    }

    /// @dev One storage slot (64 + 64 + 32 + 40 + 40 + 8 bits): counting pieces reads and
    ///      writes a single slot. A licence never granted has validUntil 0.
    struct Licence {
        uint64 quota;
        uint64 used;
        uint32 overdraft;
        uint40 validFrom;
        uint40 validUntil;
        bool revoked;
    }

    /// @dev Domain tag of a design revision's key (ledger/canonical.py DESIGN_KEY_TAG_V1).
    bytes private constant DESIGN_KEY_TAG = "trustfloor-design-v1\x00";

    address public admin;
    /// @notice The block this ledger was deployed in: its events start there.
    uint64 public deploymentBlock;
    /// @notice The ledger this one follows (version 1, whose anchors stay there); zero: none.
    address public predecessor;
    mapping(address => Issuer) private issuers;
    mapping(address => bool) private oems;
    mapping(bytes32 => Design) private designs;
    /// @dev keccak256 of a design id's JSON string => the OEM that owns every revision of it.
    mapping(bytes32 => address) private designLines;
    mapping(bytes32 => mapping(address => Licence)) private licences;
    /// @dev keccak256(abi.encode(leafHash, issuer)) => root of the batch holding the revocation.
    mapping(bytes32 => bytes32) private revocations;

    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);
    event IssuerAdded(address indexed issuer);
    event IssuerRemoved(address indexed issuer);
    event OemAdded(address indexed oem);
    event OemRemoved(address indexed oem);
    event DesignRegistered(
        bytes32 indexed designKey, address indexed oem, bytes32 dossierHash, bytes32 lineKey
    );
    event LicenceSet(
        bytes32 indexed designKey,
        address indexed licensee,
        uint64 quota,
        uint32 overdraft,
        uint40 validFrom,
        uint40 validUntil,
        uint64 priceMicros,
        bytes3 currency
    );
    event LicenceRevoked(bytes32 indexed designKey, address indexed licensee, uint64 used);
    /// @dev The anchor itself: verifiers read it from the anchoring transaction's receipt.
    event Anchored(bytes32 indexed root, address indexed issuer, uint64 size, uint64 sequence);
    event PiecesCounted(
        bytes32 indexed designKey, address indexed licensee, uint64 pieces, uint64 used
    );
    event Revoked(
        bytes32 indexed leafHash, address indexed issuer, bytes32 certificateRoot, bytes32 recordRoot
    );

    error NotAdmin(address caller);
    error NotIssuer(address caller);
    error NotOem(address caller);
    error NotDesignOem(bytes32 designKey, address caller);
    error DesignLineOwned(bytes32 lineKey, address oem);
    error NotJsonString();
    error BadPeriod(uint40 validFrom, uint40 validUntil);
    error NoLicence(bytes32 designKey, address licensee);
    error RevokedLicence(bytes32 designKey, address licensee);
    error LicenceNotYetValid(bytes32 designKey, address licensee, uint40 validFrom);
    error LicenceExpired(bytes32 designKey, address licensee, uint40 validUntil);
    error ZeroAddress();
    error ZeroValue();
    error EmptyBatch();
    error WrongSequence(address issuer, uint64 sequence, uint64 expected);
    error DesignAlreadyRegistered(bytes32 designKey);
    error UnknownDesign(bytes32 designKey);
    error LengthMismatch(uint256 designKeys, uint256 pieces);
    error PiecesExceedBatch(uint256 pieces, uint64 size);
    error AlreadyRevoked(bytes32 leafHash, bytes32 recordRoot);
    error QuotaExceeded(
        bytes32 designKey,
        address licensee,
        uint64 quota,
        uint32 overdraft,
        uint64 used,
        uint64 requested
    );

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    modifier onlyIssuer() {
        if (!issuers[msg.sender].allowed) revert NotIssuer(msg.sender);
        _;
    }

    modifier onlyOem() {
        if (!oems[msg.sender]) revert NotOem(msg.sender);
        _;
    }

    /// @param predecessor_ The version 1 ledger this one follows, or the zero address.
    constructor(address predecessor_) {
        admin = msg.sender;
        deploymentBlock = uint64(block.number);
        predecessor = predecessor_;
        emit AdminTransferred(address(0), msg.sender);
    }

    // ---------------------------------------------------------------- consortium administration

    /// @notice Hand the admin role to another account.
    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert ZeroAddress();
        emit AdminTransferred(admin, newAdmin);
        admin = newAdmin;
    }

    /// @notice Allow `issuer` to anchor batches. Idempotent: no event when already allowed.
    function addIssuer(address issuer) external onlyAdmin {
        if (issuer == address(0)) revert ZeroAddress();
        if (issuers[issuer].allowed) return;
        issuers[issuer].allowed = true;
        emit IssuerAdded(issuer);
    }

    /// @notice Stop `issuer` from anchoring. Its past anchors and its sequence stay. Idempotent.
    function removeIssuer(address issuer) external onlyAdmin {
        if (!issuers[issuer].allowed) return;
        issuers[issuer].allowed = false;
        emit IssuerRemoved(issuer);
    }

    /// @notice Allow `oem` to register designs and grant licences. Idempotent.
    function addOem(address oem) external onlyAdmin {
        if (oem == address(0)) revert ZeroAddress();
        if (oems[oem]) return;
        oems[oem] = true;
        emit OemAdded(oem);
    }

    /// @notice Stop `oem` from registering designs and changing licences. Idempotent.
    function removeOem(address oem) external onlyAdmin {
        if (!oems[oem]) return;
        oems[oem] = false;
        emit OemRemoved(oem);
    }

    // ------------------------------------------------------------------- designs and licences

    /// @notice Register the dossier hash of one design revision, once. The first OEM to
    ///         register a design id owns its line: only it registers further revisions. Lines
    ///         and revisions registered on the predecessor stay registered here, to their OEM.
    /// @param idJson The design id as an RFC 8785 JSON string (quotes included).
    /// @param revisionJson The revision as an RFC 8785 JSON string (quotes included).
    /// @param dossier SHA-256 of the dossier's canonical content.
    /// @return designKey SHA-256(tag || {"id":ID,"revision":REV}), as ledger/canonical.py
    ///         design_key computes it. A JSON string holds no unescaped quote, so the split of
    ///         that document into id and revision is unique and the key binds the id's line.
    function registerDesign(bytes calldata idJson, bytes calldata revisionJson, bytes32 dossier)
        external
        onlyOem
        returns (bytes32 designKey)
    {
        if (dossier == bytes32(0)) revert ZeroValue();
        if (!_jsonString(idJson) || !_jsonString(revisionJson)) revert NotJsonString();
        bytes32 lineKey = keccak256(idJson);
        address owner = _lineOwner(lineKey);
        if (owner != address(0) && owner != msg.sender) revert DesignLineOwned(lineKey, owner);
        if (designLines[lineKey] == address(0)) designLines[lineKey] = msg.sender;
        designKey = sha256(
            abi.encodePacked(DESIGN_KEY_TAG, '{"id":', idJson, ',"revision":', revisionJson, "}")
        );
        if (_designOem(designKey) != address(0)) revert DesignAlreadyRegistered(designKey);
        designs[designKey] = Design(msg.sender, dossier);
        emit DesignRegistered(designKey, msg.sender, dossier, lineKey);
    }

    /// @notice Grant `licensee` a licence of a design, or change its terms: `quota` pieces in
    ///         total, `overdraft` more past it (billed as overage), counted only from
    ///         `validFrom` until before `validUntil` (Unix seconds). Pieces already counted
    ///         stay counted; a quota below them stops further printing. Lifts a revocation.
    ///         The price per piece (millionths of `currency`, an ISO 4217 code; zero: none)
    ///         is recorded in the event only, for statements: counting never reads it.
    function setLicence(
        bytes32 designKey,
        address licensee,
        uint64 quota,
        uint32 overdraft,
        uint40 validFrom,
        uint40 validUntil,
        uint64 priceMicros,
        bytes3 currency
    ) external onlyOem {
        if (licensee == address(0)) revert ZeroAddress();
        if (validFrom >= validUntil) revert BadPeriod(validFrom, validUntil);
        _requireDesignOem(designKey);
        Licence storage licence_ = licences[designKey][licensee];
        licence_.quota = quota;
        licence_.overdraft = overdraft;
        licence_.validFrom = validFrom;
        licence_.validUntil = validUntil;
        licence_.revoked = false;
        emit LicenceSet(
            designKey, licensee, quota, overdraft, validFrom, validUntil, priceMicros, currency
        );
    }

    /// @notice Revoke `licensee`'s licence of a design: no more pieces are counted against
    ///         it. Its count stays. Idempotent.
    function revokeLicence(bytes32 designKey, address licensee) external onlyOem {
        _requireDesignOem(designKey);
        Licence storage licence_ = licences[designKey][licensee];
        if (licence_.validUntil == 0) revert NoLicence(designKey, licensee);
        if (licence_.revoked) return;
        licence_.revoked = true;
        emit LicenceRevoked(designKey, licensee, licence_.used);
    }

    /// @dev The OEM owning a design line here, else on the predecessor; zero: nobody yet.
    function _lineOwner(bytes32 lineKey) private view returns (address owner) {
        owner = designLines[lineKey];
        if (owner == address(0) && predecessor != address(0)) {
            owner = TrustfloorLedgerV1(predecessor).designLineOem(lineKey);
        }
    }

    /// @dev The OEM that registered a design revision here, else on the predecessor.
    function _designOem(bytes32 designKey) private view returns (address oem) {
        oem = designs[designKey].oem;
        if (oem == address(0) && predecessor != address(0)) {
            oem = TrustfloorLedgerV1(predecessor).designOem(designKey);
        }
    }

    function _requireDesignOem(bytes32 designKey) private view {
        address oem = _designOem(designKey);
        if (oem == address(0)) revert UnknownDesign(designKey);
        if (oem != msg.sender) revert NotDesignOem(designKey, msg.sender);
    }

    /// @dev Starts and ends with a double quote, at least two bytes: a JSON string's shape.
    function _jsonString(bytes calldata value) private pure returns (bool) {
        return value.length >= 2 && value[0] == '"' && value[value.length - 1] == '"';
    }

    // ---------------------------------------------------------------------------- anchoring

    /// @notice Anchor the RFC 6962 root of a batch of `size` certificates as the caller's
    ///         anchor number `sequence` (its count of anchors so far), and count the pieces of
    ///         each design it certifies against the caller's licences.
    /// @param sequence Must equal `nextSequence(msg.sender)`: each number anchors once.
    /// @param designKeys Designs printed in the batch; `pieces[i]` pieces of `designKeys[i]`.
    function anchor(
        bytes32 root,
        uint64 size,
        uint64 sequence,
        bytes32[] calldata designKeys,
        uint64[] calldata pieces
    ) external {
        Issuer storage account = issuers[msg.sender];
        if (!account.allowed) revert NotIssuer(msg.sender);
        if (root == bytes32(0)) revert ZeroValue();
        if (size == 0) revert EmptyBatch();
        uint64 expected = account.anchors;
        if (sequence != expected) revert WrongSequence(msg.sender, sequence, expected);
        if (designKeys.length != pieces.length) {
            revert LengthMismatch(designKeys.length, pieces.length);
        }
        account.anchors = expected + 1;
        uint256 total = 0;
        for (uint256 i = 0; i < designKeys.length; i++) {
            total += pieces[i];
            _count(designKeys[i], pieces[i]);
        }
        if (total > size) revert PiecesExceedBatch(total, size);
        emit Anchored(root, msg.sender, size, sequence);
    }

    /// @dev Counts against the caller's own licence, within its terms. A licence exists only
    ///      for a registered design (setLicence checks), so the design is looked up only to
    ///      explain a refusal: the common path reads and writes one slot.
    function _count(bytes32 designKey, uint64 pieces) private {
        Licence storage licence_ = licences[designKey][msg.sender];
        Licence memory terms = licence_;
        if (terms.validUntil == 0) {
            if (_designOem(designKey) == address(0)) revert UnknownDesign(designKey);
            revert NoLicence(designKey, msg.sender);
        }
        if (terms.revoked) revert RevokedLicence(designKey, msg.sender);
        if (block.timestamp < terms.validFrom) {
            revert LicenceNotYetValid(designKey, msg.sender, terms.validFrom);
        }
        if (block.timestamp >= terms.validUntil) {
            revert LicenceExpired(designKey, msg.sender, terms.validUntil);
        }
        uint64 used = terms.used;
        if (uint256(used) + pieces > uint256(terms.quota) + terms.overdraft) {
            revert QuotaExceeded(designKey, msg.sender, terms.quota, terms.overdraft, used, pieces);
        }
        used += pieces;
        licence_.used = used;
        emit PiecesCounted(designKey, msg.sender, pieces, used);
    }

    // --------------------------------------------------------------------------- revocation

    /// @notice Record that the caller revoked the certificate whose RFC 6962 leaf hash is
    ///         `leafHash`, by a signed revocation record anchored in `recordRoot`. Write-once
    ///         per (certificate, issuer). Anchors are events, so the contract cannot check that
    ///         the caller anchored both roots: the `Revoked` event names them for verifiers.
    function markRevoked(bytes32 leafHash, bytes32 certificateRoot, bytes32 recordRoot)
        external
        onlyIssuer
    {
        if (leafHash == bytes32(0) || recordRoot == bytes32(0)) revert ZeroValue();
        bytes32 key = keccak256(abi.encode(leafHash, msg.sender));
        bytes32 existing = revocations[key];
        if (existing != bytes32(0)) revert AlreadyRevoked(leafHash, existing);
        revocations[key] = recordRoot;
        emit Revoked(leafHash, msg.sender, certificateRoot, recordRoot);
    }

    // -------------------------------------------------------------------------------- views

    /// @notice The sequence number `issuer`'s next anchor must name (its anchors so far).
    function nextSequence(address issuer) external view returns (uint64) {
        return issuers[issuer].anchors;
    }

    /// @notice The root of the batch holding `issuer`'s revocation of the certificate with
    ///         leaf hash `leafHash`; zero when that issuer has not revoked it.
    function revocationOf(bytes32 leafHash, address issuer) external view returns (bytes32) {
        return revocations[keccak256(abi.encode(leafHash, issuer))];
    }

    function isIssuer(address account) external view returns (bool) {
        return issuers[account].allowed;
    }

    function isOem(address account) external view returns (bool) {
        return oems[account];
    }

    /// @notice The registered dossier hash of a design revision (here, else on the
    ///         predecessor); zero when unregistered.
    function dossierHash(bytes32 designKey) external view returns (bytes32 dossier) {
        dossier = designs[designKey].dossierHash;
        if (dossier == bytes32(0) && predecessor != address(0)) {
            dossier = TrustfloorLedgerV1(predecessor).dossierHash(designKey);
        }
    }

    /// @notice The OEM that registered a design revision (here, else on the predecessor);
    ///         zero when unregistered.
    function designOem(bytes32 designKey) external view returns (address) {
        return _designOem(designKey);
    }

    /// @notice The OEM that owns every revision of a design id (keccak256 of its JSON string),
    ///         here or on the predecessor.
    function designLineOem(bytes32 lineKey) external view returns (address) {
        return _lineOwner(lineKey);
    }

    /// @notice A licensee's licence of a design: its terms and the pieces counted against it.
    ///         All zero when never granted.
    function licence(bytes32 designKey, address licensee)
        external
        view
        returns (
            uint64 quota,
            uint64 used,
            uint32 overdraft,
            uint40 validFrom,
            uint40 validUntil,
            bool revoked
        )
    {
        Licence storage l = licences[designKey][licensee];
        return (l.quota, l.used, l.overdraft, l.validFrom, l.validUntil, l.revoked);
    }
}
