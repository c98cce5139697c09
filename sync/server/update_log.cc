#include "sync/server/update_log.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "storage/file_util.h"

namespace taskfs::sync {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Tombstone, task, version)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UpdateRecord, version, commit)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PublishRecord, commit, time)

Result<UpdateLog> UpdateLog::Load(const std::string& file) {
  UpdateLog log;
  auto text = storage::ReadWholeFile(file);
  if (!text) return log;
  try {
    auto doc = nlohmann::json::parse(*text);
    log.version_ = doc.at("version").get<int64_t>();
    log.updates_ = doc.at("updates").get<std::vector<UpdateRecord>>();
    log.tombstones_ = doc.at("tombstones").get<std::vector<Tombstone>>();
    log.acked_ = doc.at("acknowledged").get<std::map<std::string, int64_t>>();
    // Absent from the logs of servers older than the record.
    log.published_ = doc.value("published", std::map<std::string, PublishRecord>{});
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(file + " is damaged: " + e.what());
  }
  return log;
}

Status UpdateLog::Save(const std::string& file) const {
  nlohmann::json doc = {{"version", version_},
                        {"updates", updates_},
                        {"tombstones", tombstones_},
                        {"acknowledged", acked_},
                        {"published", published_}};
  return storage::WriteFileAtomically(file, doc.dump(1) + "\n", 0600);
}

int64_t UpdateLog::Record(const std::string& commit, const std::vector<std::string>& deleted,
                          const std::vector<std::string>& written) {
  ++version_;
  updates_.push_back({version_, commit});
  std::erase_if(tombstones_, [&](const Tombstone& t) {
    return std::find(written.begin(), written.end(), t.task) != written.end() ||
           std::find(deleted.begin(), deleted.end(), t.task) != deleted.end();
  });
  for (const auto& task : deleted) tombstones_.push_back({task, version_});
  return version_;
}

bool UpdateLog::Acknowledge(const std::string& client, int64_t version) {
  int64_t& acked = acked_[client];
  const int64_t before = acked;
  acked = std::max(acked, std::min(version, version_));
  return acked != before;
}

int64_t UpdateLog::VersionOf(const std::string& commit) const {
  for (auto it = updates_.rbegin(); it != updates_.rend(); ++it) {
    if (it->commit == commit) return it->version;
  }
  return 0;
}

int64_t UpdateLog::acknowledged(const std::string& client) const {
  auto it = acked_.find(client);
  return it == acked_.end() ? 0 : it->second;
}

void UpdateLog::RecordPublish(const std::string& client, const std::string& commit, int64_t time) {
  published_[client] = {commit, time};
}

bool UpdateLog::Forget(const std::vector<std::string>& active) {
  int64_t everyone = version_;
  for (const auto& name : active) everyone = std::min(everyone, acknowledged(name));
  size_t forgotten =
      std::erase_if(tombstones_, [&](const Tombstone& t) { return t.version <= everyone; });
  // The newest update stays: it names the current head for clients that ack by commit.
  forgotten += std::erase_if(updates_, [&](const UpdateRecord& u) {
    return u.version <= everyone && u.version != version_;
  });
  const auto gone = [&](const auto& entry) {
    return std::find(active.begin(), active.end(), entry.first) == active.end();
  };
  forgotten += std::erase_if(acked_, gone);
  forgotten += std::erase_if(published_, gone);
  return forgotten > 0;
}

}  // namespace taskfs::sync
