#include "storage/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "storage/file_util.h"

namespace taskfs::storage {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[4] = {'T', 'F', 'J', '1'};
constexpr uint32_t kNoContent = 0xffffffffu;

// FNV-1a: enough to tell a torn or garbled record from a whole one.
uint64_t Checksum(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

template <class T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}
void PutString(std::string* out, const std::string& s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads fields from a record's body; any read past its end makes ok() false.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  template <class T>
  T Get() {
    T value{};
    if (rest_.size() < sizeof value) {
      ok_ = false;
      return value;
    }
    std::memcpy(&value, rest_.data(), sizeof value);
    rest_.remove_prefix(sizeof value);
    return value;
  }
  std::string GetString(uint32_t size) {
    if (rest_.size() < size) {
      ok_ = false;
      return "";
    }
    std::string s(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return s;
  }
  std::string GetString() { return GetString(Get<uint32_t>()); }
  bool ok() const { return ok_; }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

std::string Encode(const JournalEntry& e) {
  std::string body;
  auto put_optional = [&body](const std::optional<std::string>& s) {
    if (s) {
      PutString(&body, *s);
    } else {
      Put<uint32_t>(&body, kNoContent);
    }
  };
  Put<uint64_t>(&body, e.seq);
  PutString(&body, e.message);
  Put<uint32_t>(&body, static_cast<uint32_t>(e.changes.size()));
  for (size_t i = 0; i < e.changes.size(); ++i) {
    PutString(&body, e.changes[i].path);
    put_optional(e.changes[i].content);
    put_optional(i < e.bases.size() ? e.bases[i] : std::nullopt);
  }
  std::string record(kMagic, sizeof kMagic);
  Put<uint32_t>(&record, static_cast<uint32_t>(body.size()));
  Put<uint64_t>(&record, Checksum(body));
  return record + body;
}

bool Decode(const std::string& body, JournalEntry* e) {
  Reader r(body);
  auto get_optional = [&r]() -> std::optional<std::string> {
    const uint32_t size = r.Get<uint32_t>();
    if (size == kNoContent) return std::nullopt;
    return r.GetString(size);
  };
  e->seq = r.Get<uint64_t>();
  e->message = r.GetString();
  const uint32_t n = r.Get<uint32_t>();
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Change c;
    c.path = r.GetString();
    c.content = get_optional();
    e->changes.push_back(std::move(c));
    e->bases.push_back(get_optional());
  }
  return r.ok() && r.done();
}

// The complete records of one segment file.
std::vector<JournalEntry> ReadSegment(const std::string& file) {
  std::vector<JournalEntry> entries;
  auto bytes = ReadWholeFile(file);
  if (!bytes) return entries;
  Reader r(*bytes);
  while (!r.done()) {
    const std::string magic = r.GetString(sizeof kMagic);
    const uint32_t size = r.Get<uint32_t>();
    const uint64_t sum = r.Get<uint64_t>();
    const std::string body = r.GetString(size);
    JournalEntry e;
    if (!r.ok() || magic != std::string(kMagic, sizeof kMagic) || Checksum(body) != sum ||
        !Decode(body, &e)) {
      break;  // torn by a crash: nothing after it was acknowledged
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string SegmentFile(const std::string& dir, uint64_t id) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llu.log", static_cast<unsigned long long>(id));
  return dir + "/" + name;
}

Status WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "writing the journal");
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace


std::vector<uint64_t> JournalSegments(const std::string& dir) {
  std::vector<uint64_t> ids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 20 && name.ends_with(".log") &&
        std::all_of(name.begin(), name.begin() + 16, ::isdigit)) {
      ids.push_back(std::stoull(name.substr(0, 16)));
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<JournalEntry> ReadJournal(const std::string& dir) {
  std::vector<JournalEntry> all;
  for (uint64_t id : JournalSegments(dir)) {
    for (JournalEntry& e : ReadSegment(SegmentFile(dir, id))) all.push_back(std::move(e));
  }
  return all;
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir) {
  std::unique_ptr<Journal> j(new Journal());
  j->dir_ = dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating the journal " + dir);
  j->recovered_segments_ = JournalSegments(dir);
  for (uint64_t id : j->recovered_segments_) {
    for (JournalEntry& e : ReadSegment(SegmentFile(dir, id))) {
      j->last_seq_ = std::max(j->last_seq_, e.seq);
      j->recovered_.push_back(std::move(e));
    }
  }
  const uint64_t next = j->recovered_segments_.empty() ? 1 : j->recovered_segments_.back() + 1;
  TASKFS_RETURN_IF_ERROR(j->OpenSegment(next));
  return j;
}

Journal::~Journal() {
  fd_.reset();
  if (segment_empty_ && segment_ != 0) ::unlink(SegmentFile(dir_, segment_).c_str());
}

Status Journal::OpenSegment(uint64_t id) {
  const std::string file = SegmentFile(dir_, id);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "opening the journal " + file);
  fd_.reset(fd);
  segment_ = id;
  segment_empty_ = true;
  size_ = 0;
  // The segment's name is made durable by Committer::SyncJournal (an fsync of the folder), not
  // here: a lone save rotates the journal before its commit, and no save needs it until fsync().
  return Status::OK();
}

Status Journal::Append(const JournalEntry& entry) {
  const std::string record = Encode(entry);
  if (Status st = WriteAll(fd_.get(), record); !st.ok()) {
    // A record cut short (disk full) would end the segment for every later one: take it back.
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) segment_empty_ = false;
    return st;
  }
  size_ += record.size();
  segment_empty_ = false;
  last_seq_ = std::max(last_seq_, entry.seq);
  return Status::OK();
}

std::string Journal::SegmentPath(uint64_t segment) const { return SegmentFile(dir_, segment); }

Result<uint64_t> Journal::Rotate() {
  if (segment_empty_) return uint64_t{0};
  const uint64_t closed = segment_;
  TASKFS_RETURN_IF_ERROR(OpenSegment(segment_ + 1));
  return closed;
}

Status Journal::Drop(uint64_t segment) {
  if (::unlink(SegmentFile(dir_, segment).c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "removing a committed journal segment");
  }
  return Status::OK();
}

}  // namespace taskfs::storage
