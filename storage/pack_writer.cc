#include "storage/pack_writer.h"

#include <fcntl.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/sha1.h"

namespace taskfs::storage {
namespace {

// Trees are stored, not compressed: a flat folder's tree is rewritten whole on every save, its
// 20-byte ids do not compress, and deflating 420 KB (10,000 tasks) took a third of a commit. A
// merged pack (storage/repack.h) stores them as deltas. Blobs and commits are small: level 1.
int CompressionLevelFor(git_object_t type) {
  return type == GIT_OBJECT_TREE ? Z_NO_COMPRESSION : Z_BEST_SPEED;
}

void AppendBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void AppendBigEndian64(std::string* out, uint64_t v) {
  AppendBigEndian32(out, static_cast<uint32_t>(v >> 32));
  AppendBigEndian32(out, static_cast<uint32_t>(v));
}

// A pack entry's header: the type in bits 4-6 of the first byte, then the size, 4 bits and then
// 7 bits a byte, low bits first, the top bit saying that more follow.
void AppendEntryHeader(std::string* out, git_object_t type, size_t size) {
  unsigned char c = static_cast<unsigned char>((type << 4) | (size & 0x0f));
  size >>= 4;
  while (size) {
    out->push_back(static_cast<char>(c | 0x80));
    c = size & 0x7f;
    size >>= 7;
  }
  out->push_back(static_cast<char>(c));
}

Status AppendDeflated(std::string* out, std::string_view data, int level) {
  uLongf size = compressBound(data.size());
  const size_t at = out->size();
  out->resize(at + size);
  const int rc = compress2(reinterpret_cast<Bytef*>(out->data() + at), &size,
                           reinterpret_cast<const Bytef*>(data.data()), data.size(),
                           level);
  if (rc != Z_OK) return Status::IOError("compressing an object: zlib error " + std::to_string(rc));
  out->resize(at + size);
  return Status::OK();
}

// Appends the SHA-1 of everything in `out` (a pack's or an index's trailer).
Status AppendChecksum(std::string* out) {
  auto digest = Sha1({*out});
  if (!digest.ok()) return digest.status();
  out->append(reinterpret_cast<const char*>(digest->data()), digest->size());
  return Status::OK();
}

struct Placed {
  const git_oid* id;
  uint64_t offset;  // of its entry in the pack
  uint32_t crc;     // of its entry's bytes (header and deflated data)
};

// The version-2 index of a pack whose entries are `placed`, with trailer `pack_checksum`.
Result<std::string> BuildIndex(std::vector<Placed> placed, std::string_view pack_checksum) {
  std::sort(placed.begin(), placed.end(),
            [](const Placed& a, const Placed& b) { return git_oid_cmp(a.id, b.id) < 0; });
  std::string idx("\377tOc", 4);
  AppendBigEndian32(&idx, 2);
  size_t below = 0;  // objects whose first byte is at most `b`
  for (unsigned b = 0; b < 256; ++b) {
    while (below < placed.size() && placed[below].id->id[0] <= b) ++below;
    AppendBigEndian32(&idx, static_cast<uint32_t>(below));
  }
  for (const Placed& p : placed) idx.append(reinterpret_cast<const char*>(p.id->id), GIT_OID_RAWSZ);
  for (const Placed& p : placed) AppendBigEndian32(&idx, p.crc);
  std::vector<uint64_t> large;  // offsets past 2^31 go to a table of 8-byte offsets
  for (const Placed& p : placed) {
    if (p.offset < (uint64_t{1} << 31)) {
      AppendBigEndian32(&idx, static_cast<uint32_t>(p.offset));
    } else {
      AppendBigEndian32(&idx, static_cast<uint32_t>(0x80000000u | large.size()));
      large.push_back(p.offset);
    }
  }
  for (uint64_t offset : large) AppendBigEndian64(&idx, offset);
  idx.append(pack_checksum);
  TASKFS_RETURN_IF_ERROR(AppendChecksum(&idx));
  return idx;
}

}  // namespace

Result<std::string> WritePackDurably(const std::string& pack_dir,
                                     const std::vector<PackObject>& objects) {
  std::string pack = "PACK";
  AppendBigEndian32(&pack, 2);
  AppendBigEndian32(&pack, static_cast<uint32_t>(objects.size()));
  std::vector<Placed> placed;
  placed.reserve(objects.size());
  for (const PackObject& o : objects) {
    const size_t at = pack.size();
    AppendEntryHeader(&pack, o.type, o.data.size());
    TASKFS_RETURN_IF_ERROR(AppendDeflated(&pack, o.data, CompressionLevelFor(o.type)));
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(pack.data() + at), pack.size() - at));
    placed.push_back({&o.id, at, crc});
  }
  TASKFS_RETURN_IF_ERROR(AppendChecksum(&pack));
  const std::string_view checksum = std::string_view(pack).substr(pack.size() - GIT_OID_RAWSZ);
  auto idx = BuildIndex(std::move(placed), checksum);
  if (!idx.ok()) return idx.status();
  git_oid checksum_id;
  std::memcpy(checksum_id.id, checksum.data(), GIT_OID_RAWSZ);
  const std::string name = "pack-" + OidToHex(checksum_id);
  // Both names are made durable by one fsync of the folder, after the index: until then no ref
  // names the pack's objects, so a power cut in between loses nothing.
  TASKFS_RETURN_IF_ERROR(WriteFileAtomicallyAt(AT_FDCWD, pack_dir + "/" + name + ".pack", pack,
                                               0444, "", FolderSync::kLeaveToCaller));
  TASKFS_RETURN_IF_ERROR(WriteFileAtomicallyAt(AT_FDCWD, pack_dir + "/" + name + ".idx", *idx,
                                               0444, "", FolderSync::kLeaveToCaller));
  TASKFS_RETURN_IF_ERROR(SyncToDisk(pack_dir));
  return name + ".pack";
}

}  // namespace taskfs::storage
