// Journal: the write path's record of saves that are acknowledged but not yet committed.
//
// A save (close() of a valid task, a rename, a delete) is appended here before the writer gets
// its answer, and a committer (storage/committer.h) turns what is here into git commits. The
// journal lives beside the store in `journal/`, as segment files `SEGMENT.log` written only by
// appending: the kernel's page cache keeps an append safe against `kill -9` of the process,
// an fdatasync of its segment (Committer::SyncJournal) makes it safe against power loss. The
// committer rotates to a new segment when it takes a batch, and drops the old segment once the
// batch's commit is durable; what is left at start-up was acknowledged and not committed, and is
// replayed in order.
//
// Each record carries a checksum: a record cut short by a crash ends the segment (nothing after
// it was acknowledged).
//
// Thread-safety: a Journal is not thread-safe; its owner serialises calls (Committer does).
// ReadJournal and JournalSegments may run in any process beside the owner.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/change.h"
#include "storage/status.h"
#include "storage/unique_fd.h"

namespace taskfs::storage {

struct JournalEntry {
  uint64_t seq = 0;             // order of effects, from 1, across segments
  std::string message;          // the commit message if committed alone: "edit x"
  std::vector<Change> changes;  // applied together (a rename is a delete and a create)
  // For each change, the bytes its writer started from (nullopt: no such file for it), so that
  // a change another process made meanwhile is merged, not overwritten.
  std::vector<std::optional<std::string>> bases;
};

class Journal {
 public:
  // Opens (creating) the journal in `dir`; reads what earlier runs left (recovered()).
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Entries earlier runs acknowledged and did not commit, in order, and their segments (drop
  // them once those entries are committed).
  const std::vector<JournalEntry>& recovered() const { return recovered_; }
  const std::vector<uint64_t>& recovered_segments() const { return recovered_segments_; }
  uint64_t last_seq() const { return last_seq_; }

  // Appends `entry` to the current segment (one write()).
  Status Append(const JournalEntry& entry);
  // The journal's folder, the file of a segment, and the segment appended to now.
  const std::string& dir() const { return dir_; }
  std::string SegmentPath(uint64_t segment) const;
  uint64_t current_segment() const { return segment_; }
  // Closes the current segment and starts a new one; returns the closed one's id, or 0 when it
  // held nothing (then nothing changes).
  Result<uint64_t> Rotate();
  // Removes a segment whose entries are all committed.
  Status Drop(uint64_t segment);

 private:
  Journal() = default;
  Status OpenSegment(uint64_t id);

  std::string dir_;
  uint64_t segment_ = 0;  // the one appended to
  UniqueFd fd_;
  bool segment_empty_ = true;
  size_t size_ = 0;  // bytes in the current segment
  uint64_t last_seq_ = 0;
  std::vector<JournalEntry> recovered_;
  std::vector<uint64_t> recovered_segments_;
};

// The segments in `dir`, oldest first.
std::vector<uint64_t> JournalSegments(const std::string& dir);
// Every complete entry in `dir`, in order (a torn record ends its segment).
std::vector<JournalEntry> ReadJournal(const std::string& dir);

}  // namespace taskfs::storage
