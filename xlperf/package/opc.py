"""A workbook file as the OPC package it is: parts named by case-insensitive part names, each kept
as the bytes it was read as until someone asks for its XML; only the parts that were changed are
serialised again (after python-docx's docx/opc).

    package = Package.from_bytes(data)
    root = package.xml("/xl/workbook.xml")     # parsed once, kept
    ...edit root...
    package.touch("/xl/workbook.xml")          # serialise it again on save
    data = package.to_bytes()                  # every other part byte for byte

Part names are kept as the package spells them ("/xl/worksheets/Sheet1.xml"); every lookup
compares them without case, as the OPC specification says (ECMA-376 part 2, 9.1.1.1).
"""
from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from lxml import etree

from ..zipbytes import FIXED_ZIP_TIME

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES = "/[Content_Types].xml"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)


class PackageError(Exception):
    """The package is not one xlperf can edit (a required part missing or not XML); str() is Chinese."""


def partname(name: str) -> str:
    """A zip member name as a part name: '/xl/workbook.xml'."""
    return name if name.startswith("/") else "/" + name


def key(name: str) -> str:
    """What part names are compared by."""
    return partname(name).lower()


def rels_name(part: str) -> str:
    """The relationships part of part: /xl/worksheets/sheet1.xml → /xl/worksheets/_rels/sheet1.xml.rels."""
    directory, base = posixpath.split(partname(part))
    return posixpath.join(directory, "_rels", base + ".rels")


def resolve(source: str, target: str) -> str:
    """The part a relationship of source with this (internal) Target names."""
    if target.startswith("/"):
        return posixpath.normpath(target)
    return posixpath.normpath(posixpath.join(posixpath.dirname(partname(source)), target))


def relative(source: str, target: str) -> str:
    """A Target for a relationship from source to target."""
    return posixpath.relpath(target, posixpath.dirname(partname(source)))


@dataclass
class Part:
    name: str  # as the package spells it, with the leading slash
    _blob: bytes | None
    info: zipfile.ZipInfo | None = None  # the member it was read from (its metadata is kept)
    root: etree._Element | None = field(default=None, repr=False)
    touched: bool = False
    source: "_Source | None" = field(default=None, repr=False)  # where its compressed bytes are, until read

    @property
    def blob(self) -> bytes:
        if self._blob is None:
            self._blob = self.source.read(self.info)
        return self._blob

    @blob.setter
    def blob(self, value: bytes) -> None:
        self._blob, self.source = value, None

    @property
    def unchanged(self) -> bool:
        """Still the member it was read as: copied to the new package as its compressed bytes."""
        return self.source is not None and not self.touched


class _Source:
    """The zip a package was read from: members decompressed on demand, or copied compressed."""

    def __init__(self, data: bytes):
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))

    def read(self, info: zipfile.ZipInfo) -> bytes:
        return self.zip.read(info)

    def raw(self, info: zipfile.ZipInfo) -> bytes:
        """The member's bytes as stored (compressed), from its local header."""
        offset = info.header_offset
        header = self.data[offset:offset + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = offset + 30 + name_len + extra_len
        return self.data[start:start + info.compress_size]


class _Held:
    """One member compressed in memory (a part made here and set aside until the package is written)."""

    def __init__(self, raw: bytes):
        self.data = raw

    def read(self, info: zipfile.ZipInfo) -> bytes:
        return zlib.decompress(self.data, -15)

    def raw(self, info: zipfile.ZipInfo) -> bytes:
        return self.data


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str  # the full type URI
    target: str  # as written
    external: bool

    @property
    def kind(self) -> str:
        """The last segment of the type: worksheet, drawing, chart, styles…"""
        return self.type.rsplit("/", 1)[-1]


class Package:
    def __init__(self, parts: list[Part]):
        self._parts: dict[str, Part] = {}
        for part in parts:
            if key(part.name) in self._parts:  # invalid OPC: refused rather than one of them quietly lost
                raise PackageError(f"文件中有两个只差大小写或重名的内部文件（{part.name}），文件可能被其他程序改坏；"
                                   "请在 Excel 中打开后另存为新的 .xlsx")
            self._parts[key(part.name)] = part

    # ---- reading and writing the zip ---------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes) -> "Package":
        """The package in data; each part's bytes are decompressed only when asked for."""
        source = _Source(data)
        parts = [Part(partname(info.filename), None, info, source=source) for info in source.zip.infolist()
                 if not info.is_dir()]
        package = cls(parts)
        if CONTENT_TYPES.lower() not in package._parts:
            raise PackageError("文件中缺少 [Content_Types].xml，不是完整的 Excel 工作簿")
        return package

    def to_bytes(self) -> bytes:
        """The package: untouched parts exactly as read (contents and member metadata), touched ones
        serialised again, in the order they were read (new parts at the end)."""
        out = io.BytesIO()
        self.write_to(out)
        return out.getvalue()

    def write_to(self, out) -> None:
        """to_bytes, written into the binary file out as it is made (no copy of the whole package in memory)."""
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for part in self._parts.values():
                if part.unchanged and part.info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    _write_raw(zf, part.info, part.source.raw(part.info))  # byte for byte, not even recompressed
                    continue
                if part.touched and part.root is not None:
                    part.blob = serialise(part.root)
                    part.touched = False
                info = _new_info(part.name) if part.info is None else _copy_info(part.info)
                zf.writestr(info, part.blob)

    # ---- parts -----------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return key(name) in self._parts

    def get(self, name: str) -> Part | None:
        return self._parts.get(key(name))

    def names(self) -> list[str]:
        return [p.name for p in self._parts.values()]

    def blob(self, name: str) -> bytes:
        part = self._require(name)
        if part.touched and part.root is not None:
            return serialise(part.root)
        return part.blob

    def read(self, name: str) -> bytes:
        """The part's bytes, not kept when they were still compressed (for reading each of many parts once)."""
        part = self._require(name)
        if part._blob is None and part.source is not None:
            return part.source.read(part.info)
        return self.blob(name)

    def xml(self, name: str) -> etree._Element:
        """The part's XML, parsed once (no DTDs, no entities, no network)."""
        part = self._require(name)
        if part.root is None:
            part.root = self.parse_fresh(name)
        return part.root

    def parse_fresh(self, name: str) -> etree._Element:
        """The part's XML parsed again, not kept (for a copy that is changed and written elsewhere)."""
        try:
            return etree.fromstring(self.blob(name), _PARSER)
        except etree.XMLSyntaxError as exc:
            raise PackageError(f"文件中的 {partname(name)} 不是有效的 XML（{exc.msg}），无法在原文件上修改") from None

    def touch(self, name: str) -> None:
        self._require(name).touched = True

    def hold(self, name: str) -> None:
        """Keep a part only compressed, as it will be written (a thousand grafted sheets cost their zip size in
        memory, not their XML's); reading it again decompresses it."""
        part = self._require(name)
        if part.unchanged:
            return
        blob = self.blob(name)
        packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)  # what zipfile's writestr does
        raw = packer.compress(blob) + packer.flush()
        info = _copy_info(part.info) if part.info is not None else _new_info(part.name)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.CRC, info.file_size, info.compress_size = zlib.crc32(blob), len(blob), len(raw)
        part._blob, part.root, part.touched, part.info, part.source = None, None, False, info, _Held(raw)

    def put(self, name: str, blob: bytes, content_type: str | None = None) -> Part:
        """Add (or replace) a part with these bytes; with content_type, its Override is written too."""
        name = partname(name)
        old = self._parts.get(key(name))
        part = Part(old.name if old else name, blob, old.info if old else None)  # no source: written anew
        self._parts[key(name)] = part
        if content_type:
            self.set_content_type(part.name, content_type)
        return part

    def put_xml(self, name: str, root: etree._Element, content_type: str | None = None) -> Part:
        part = self.put(name, b"", content_type)
        part.root, part.touched = root, True
        return part

    def remove(self, name: str) -> None:
        part = self._parts.pop(key(name), None)
        if part is None:
            return
        self._parts.pop(key(rels_name(part.name)), None)
        types = self.xml(CONTENT_TYPES)
        for el in types.findall(f"{{{CT_NS}}}Override"):
            if key(el.get("PartName") or "") == key(part.name):
                types.remove(el)
                self.touch(CONTENT_TYPES)

    def free_name(self, template: str, start: int = 1) -> str:
        """The first unused part name of template ('/xl/worksheets/sheet{}.xml'), without case."""
        n = start
        while key(template.format(n)) in self._parts:
            n += 1
        return template.format(n)

    def _require(self, name: str) -> Part:
        part = self._parts.get(key(name))
        if part is None:
            raise PackageError(f"文件中缺少 {partname(name)}，不是完整的 Excel 工作簿")
        return part

    # ---- content types ---------------------------------------------------------------------
    def content_type(self, name: str) -> str | None:
        types = self.xml(CONTENT_TYPES)
        for el in types.findall(f"{{{CT_NS}}}Override"):
            if key(el.get("PartName") or "") == key(name):
                return el.get("ContentType")
        ext = posixpath.splitext(name)[1].lstrip(".").lower()
        for el in types.findall(f"{{{CT_NS}}}Default"):
            if (el.get("Extension") or "").lower() == ext:
                return el.get("ContentType")
        return None

    def set_content_type(self, name: str, content_type: str) -> None:
        """An Override for name (replacing one there is), unless the extension's Default already says so."""
        types = self.xml(CONTENT_TYPES)
        for el in types.findall(f"{{{CT_NS}}}Override"):
            if key(el.get("PartName") or "") == key(name):
                if el.get("ContentType") != content_type:
                    el.set("ContentType", content_type)
                    self.touch(CONTENT_TYPES)
                return
        ext = posixpath.splitext(name)[1].lstrip(".").lower()
        for el in types.findall(f"{{{CT_NS}}}Default"):
            if (el.get("Extension") or "").lower() == ext and el.get("ContentType") == content_type:
                return
        etree.SubElement(types, f"{{{CT_NS}}}Override", PartName=partname(name), ContentType=content_type)
        self.touch(CONTENT_TYPES)

    # ---- relationships ---------------------------------------------------------------------
    def rels(self, source: str) -> list[Relationship]:
        """The relationships of source ('/' for the package's own); [] when it has none."""
        name = "/_rels/.rels" if source == "/" else rels_name(source)
        if name not in self:
            return []
        out = []
        for el in self.xml(name).iter(f"{{{REL_NS}}}Relationship"):
            out.append(Relationship(el.get("Id") or "", el.get("Type") or "", el.get("Target") or "",
                                    (el.get("TargetMode") or "").lower() == "external"))
        return out

    def related(self, source: str) -> list[tuple[Relationship, str]]:
        """(relationship, part name) for each internal relationship of source."""
        return [(rel, resolve(source, rel.target)) for rel in self.rels(source) if not rel.external]

    def rels_root(self, source: str) -> etree._Element:
        """The relationships XML of source, made (empty) when it has none."""
        name = rels_name(source)
        if name not in self:
            self.put_xml(name, etree.Element(f"{{{REL_NS}}}Relationships", nsmap={None: REL_NS}))
        return self.xml(name)

    def add_relationship(self, source: str, rel_type: str, target: str) -> str:
        """Add a relationship from source to the part target; returns its new Id."""
        root = self.rels_root(source)
        taken = {el.get("Id") for el in root}
        n = len(taken) + 1
        while f"rId{n}" in taken:
            n += 1
        etree.SubElement(root, f"{{{REL_NS}}}Relationship", Id=f"rId{n}", Type=rel_type,
                         Target=relative(source, target))
        self.touch(rels_name(source))
        return f"rId{n}"

    def remove_relationship(self, source: str, rel_id: str) -> None:
        root = self.rels_root(source)
        for el in list(root):
            if el.get("Id") == rel_id:
                root.remove(el)
                self.touch(rels_name(source))

    def related_part(self, source: str, kind: str) -> str | None:
        """The part source's first internal relationship of this kind (styles, calcChain…) names, if it is there."""
        return next((target for rel, target in self.related(source) if rel.kind == kind and target in self), None)

    def main_document(self) -> str:
        """The workbook part (the package relationship of type officeDocument)."""
        found = self.related_part("/", "officeDocument")
        if found is None:
            raise PackageError("文件中找不到工作簿主体（xl/workbook.xml），不是完整的 Excel 工作簿")
        return found

    def referenced(self) -> set[str]:
        """Every part some relationship (of the package or of any part) names, as keys."""
        found: set[str] = set()
        sources = ["/"] + [p.name for p in self._parts.values() if not p.name.lower().endswith(".rels")]
        for source in sources:
            for _, target in self.related(source):
                found.add(key(target))
        return found


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _write_raw(zf: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes) -> None:
    """Append a member whose compressed bytes are copied as they are: a local header made from info (sizes and
    CRC in it, no data descriptor), the bytes, and its entry for the central directory zf writes on close."""
    copy = _copy_info(info)
    copy.compress_type = info.compress_type
    copy.CRC, copy.compress_size, copy.file_size = info.CRC, info.compress_size, info.file_size
    copy.flag_bits = info.flag_bits & ~0x08  # sizes are in the header: no data descriptor follows
    copy.extra = zipfile._strip_extra(info.extra, (0x0001,))  # a stale zip64 record is made again if needed
    copy.header_offset = zf.fp.tell()
    zf.fp.write(copy.FileHeader(zip64=copy.file_size > zipfile.ZIP64_LIMIT or copy.compress_size > zipfile.ZIP64_LIMIT))
    zf.fp.write(raw)
    zf.filelist.append(copy)
    zf.NameToInfo[copy.filename] = copy
    zf.start_dir = zf.fp.tell()
    zf._didModify = True


def _new_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name.lstrip("/"), date_time=FIXED_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A member's metadata for writing it again (name, time, attributes, compression)."""
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type = info.compress_type if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
        else zipfile.ZIP_DEFLATED
    copy.external_attr = info.external_attr
    copy.create_system = info.create_system
    copy.comment = info.comment
    return copy
