// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title TrustfloorLedger: write-once anchors of certificate batch roots, design dossiers and
///        per-licensee piece counts for a consortium of OEMs and printing sites.
/// @notice The consortium admin keeps two allow-lists: issuers (printing sites that anchor
///         certificate batches) and OEMs (owners of designs). An OEM registers the dossier hash
///         of each design revision once (the first OEM to register a design id owns every
///         revision of it) and grants each licensee a licence with terms (a piece quota, an
///         overdraft, a validity period), changes or revokes it. An issuer anchors the RFC 6962
///         root of a batch once; the call counts the pieces of each design the batch certifies
///         against the issuer's own licence, within its terms. An issuer revokes a
///         certificate by anchoring a signed revocation record and marking the certificate's
///         leaf hash revoked, so online verifiers find it.
/// @dev Regenerate ledger/contract_artifact.json with `node contracts/compile.mjs` after any
///      change; tests/integration/ledger/test_contract_artifact.py checks it is current.
contract TrustfloorLedger {
    /// @dev One storage slot (160 + 48 + 48 bits): a new anchor costs a single SSTORE.
    ///      The block's timestamp is read from the block itself, so it is not stored.
    struct Anchor {
        address issuer;
        uint48 size;
        uint48 blockNumber;
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
    mapping(address => bool) private issuers;
    mapping(address => bool) private oems;
    mapping(bytes32 => Anchor) private anchors;
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
    /// @dev The batch size is in storage (anchoredAt); leaving it out of the event saves gas.
    event Anchored(bytes32 indexed root, address indexed issuer);
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
    error AlreadyAnchored(bytes32 root, uint64 blockNumber);
    error DesignAlreadyRegistered(bytes32 designKey);
    error UnknownDesign(bytes32 designKey);
    error LengthMismatch(uint256 designKeys, uint256 pieces);
    error PiecesExceedBatch(uint256 pieces, uint64 size);
    error BatchTooLarge(uint64 size);
    error NotAnchoredBy(bytes32 root, address caller);
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
        if (!issuers[msg.sender]) revert NotIssuer(msg.sender);
        _;
    }

    modifier onlyOem() {
        if (!oems[msg.sender]) revert NotOem(msg.sender);
        _;
    }

    constructor() {
        admin = msg.sender;
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
        if (issuers[issuer]) return;
        issuers[issuer] = true;
        emit IssuerAdded(issuer);
    }

    /// @notice Stop `issuer` from anchoring. Its past anchors stay. Idempotent.
    function removeIssuer(address issuer) external onlyAdmin {
        if (!issuers[issuer]) return;
        issuers[issuer] = false;
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
    ///         register a design id owns its line: only it registers further revisions.
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
        address owner = designLines[lineKey];
        if (owner == address(0)) {
            designLines[lineKey] = msg.sender;
        } else if (owner != msg.sender) {
            revert DesignLineOwned(lineKey, owner);
        }
        designKey = sha256(
            abi.encodePacked(DESIGN_KEY_TAG, '{"id":', idJson, ',"revision":', revisionJson, "}")
        );
        if (designs[designKey].oem != address(0)) revert DesignAlreadyRegistered(designKey);
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

    function _requireDesignOem(bytes32 designKey) private view {
        address oem = designs[designKey].oem;
        if (oem == address(0)) revert UnknownDesign(designKey);
        if (oem != msg.sender) revert NotDesignOem(designKey, msg.sender);
    }

    /// @dev Starts and ends with a double quote, at least two bytes: a JSON string's shape.
    function _jsonString(bytes calldata value) private pure returns (bool) {
        return value.length >= 2 && value[0] == '"' && value[value.length - 1] == '"';
    }

    // ---------------------------------------------------------------------------- anchoring

    /// @notice Anchor the RFC 6962 root of a batch of `size` certificates, once, and count the
    ///         pieces of each design it certifies against the caller's licences.
    /// @param designKeys Designs printed in the batch; `pieces[i]` pieces of `designKeys[i]`.
    function anchor(bytes32 root, uint64 size, bytes32[] calldata designKeys, uint64[] calldata pieces)
        external
        onlyIssuer
    {
        if (root == bytes32(0)) revert ZeroValue();
        if (size == 0) revert EmptyBatch();
        if (size > type(uint48).max) revert BatchTooLarge(size);
        Anchor storage existing = anchors[root];
        if (existing.issuer != address(0)) revert AlreadyAnchored(root, existing.blockNumber);
        if (designKeys.length != pieces.length) {
            revert LengthMismatch(designKeys.length, pieces.length);
        }
        anchors[root] = Anchor(msg.sender, uint48(size), uint48(block.number));
        uint256 total = 0;
        for (uint256 i = 0; i < designKeys.length; i++) {
            total += pieces[i];
            _count(designKeys[i], pieces[i]);
        }
        if (total > size) revert PiecesExceedBatch(total, size);
        emit Anchored(root, msg.sender);
    }

    /// @dev Counts against the caller's own licence, within its terms. A licence exists only
    ///      for a registered design (setLicence checks), so the design is looked up only to
    ///      explain a refusal: the common path reads and writes one slot.
    function _count(bytes32 designKey, uint64 pieces) private {
        Licence storage licence_ = licences[designKey][msg.sender];
        Licence memory terms = licence_;
        if (terms.validUntil == 0) {
            if (designs[designKey].oem == address(0)) revert UnknownDesign(designKey);
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
    ///         per (certificate, issuer); both roots must have been anchored by the caller.
    function markRevoked(bytes32 leafHash, bytes32 certificateRoot, bytes32 recordRoot)
        external
        onlyIssuer
    {
        if (leafHash == bytes32(0)) revert ZeroValue();
        if (anchors[certificateRoot].issuer != msg.sender) {
            revert NotAnchoredBy(certificateRoot, msg.sender);
        }
        if (anchors[recordRoot].issuer != msg.sender) revert NotAnchoredBy(recordRoot, msg.sender);
        bytes32 key = keccak256(abi.encode(leafHash, msg.sender));
        bytes32 existing = revocations[key];
        if (existing != bytes32(0)) revert AlreadyRevoked(leafHash, existing);
        revocations[key] = recordRoot;
        emit Revoked(leafHash, msg.sender, certificateRoot, recordRoot);
    }

    // -------------------------------------------------------------------------------- views

    /// @notice In which block and by whom `root` was anchored; all zero when it never was.
    function anchoredAt(bytes32 root)
        external
        view
        returns (uint64 blockNumber, address issuer, uint64 size)
    {
        Anchor storage a = anchors[root];
        return (a.blockNumber, a.issuer, a.size);
    }

    /// @notice The root of the batch holding `issuer`'s revocation of the certificate with
    ///         leaf hash `leafHash`; zero when that issuer has not revoked it.
    function revocationOf(bytes32 leafHash, address issuer) external view returns (bytes32) {
        return revocations[keccak256(abi.encode(leafHash, issuer))];
    }

    function isIssuer(address account) external view returns (bool) {
        return issuers[account];
    }

    function isOem(address account) external view returns (bool) {
        return oems[account];
    }

    /// @notice The registered dossier hash of a design revision; zero when unregistered.
    function dossierHash(bytes32 designKey) external view returns (bytes32) {
        return designs[designKey].dossierHash;
    }

    /// @notice The OEM that registered a design revision; zero when unregistered.
    function designOem(bytes32 designKey) external view returns (address) {
        return designs[designKey].oem;
    }

    /// @notice The OEM that owns every revision of a design id (keccak256 of its JSON string).
    function designLineOem(bytes32 lineKey) external view returns (address) {
        return designLines[lineKey];
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
