// Randomized sync: several clients make random creates, edits, renames and deletes and sync in a
// random order through one bare repository. Checks that all clients converge to one tree, that
// the repositories stay valid, that every task stays a valid task, and that no value any client
// committed vanishes unless a later change by a client that had seen it replaced or deleted it.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <random>
#include <set>

#include "storage/task_validate.h"
#include "tests/sync/sync_client.h"

namespace taskfs::testing {
namespace {

constexpr int kClients = 3;
constexpr int kOperations = 250;
constexpr unsigned kSeeds = 8;  // 30 seeds x 300 ops pass too (about a minute)

struct Op {
  int client;
  std::string task;           // the task's id
  std::string key;            // what it changed: title, k1, k2, tags, notes, delete, create, rename
  std::string token;          // the value it wrote (unique), empty for removals
  std::set<int> seen_before;  // ops the client had seen when it made this one
};

class RandomizedSync {
 public:
  explicit RandomizedSync(unsigned seed) : rng_(seed) {}

  void Run() {
    remote_ = MakeBareRemote(dir_);
    for (int c = 0; c < kClients; ++c) {
      clients_.push_back(
          std::make_unique<SyncClient>(dir_.path(), "c" + std::to_string(c), remote_));
      // A logical clock: each commit is one second after the last, whoever makes it.
      clients_.back()->SetClock([this] { return 1800000000 + ++ticks_; });
    }
    seen_.resize(kClients);
    for (int i = 0; i < kOperations; ++i) Step();
    for (int round = 0; round < 3; ++round) {
      for (int c = 0; c < kClients; ++c) Sync(c);
    }
    Check();
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // Path of the task with id `id` in client c's tree, or "".
  std::string Find(int c, const std::string& id) {
    for (const auto& [path, content] : clients_[c]->Tree()) {
      if (content.find("id: " + id + "\n") == 0) return path;
    }
    return "";
  }

  std::vector<std::pair<std::string, std::string>> Tasks(int c) {
    std::vector<std::pair<std::string, std::string>> tasks;
    for (const auto& [path, content] : clients_[c]->Tree()) {
      if (content.rfind("id: ", 0) == 0) {
        tasks.emplace_back(path, content.substr(4, content.find('\n') - 4));
      }
    }
    return tasks;
  }

  void Record(int c, const std::string& task, const std::string& key, const std::string& token) {
    ops_.push_back({c, task, key, token, seen_[c]});
    seen_[c].insert(static_cast<int>(ops_.size()) - 1);
  }

  void Sync(int c) {
    clients_[c]->Sync();
    seen_[c].insert(remote_seen_.begin(), remote_seen_.end());
    remote_seen_ = seen_[c];
  }

  void Step() {
    const int c = Pick(kClients);
    const std::string op_token = std::to_string(ops_.size());
    auto tasks = Tasks(c);
    const int kind = tasks.empty() ? 0 : Pick(10);
    if (kind == 0) {  // create
      const std::string id = "T" + op_token;
      clients_[c]->Write("t" + op_token + ".yaml", "id: " + id + "\ntitle: t" + op_token + "\n");
      Record(c, id, "create", "t" + op_token);
      return;
    }
    if (kind == 9) {
      Sync(c);
      return;
    }
    const auto& [path, id] = tasks[Pick(static_cast<int>(tasks.size()))];
    if (kind == 7) {
      clients_[c]->Rename(path, "t" + id.substr(1) + "-" + op_token + ".yaml");
      Record(c, id, "rename", "");
      return;
    }
    if (kind == 8) {
      clients_[c]->Remove(path);
      Record(c, id, "delete", "");
      return;
    }
    YAML::Node task = YAML::Load(*clients_[c]->Read(path));
    std::string key, token;
    switch (kind) {
      case 1:
        key = "title";
        token = "t" + op_token;
        task["title"] = token;
        break;
      case 2:
        key = "k1";
        token = "v" + op_token;
        task["k1"] = token;
        break;
      case 3:
        key = "k2";
        token = "w" + op_token;
        task["k2"] = token;
        break;
      case 4:
        key = "tags";
        token = "g" + op_token;
        task["tags"].push_back(token);
        break;
      case 5: {  // remove a tag
        key = "tags";
        YAML::Node kept(YAML::NodeType::Sequence);
        if (task["tags"] && task["tags"].IsSequence() && task["tags"].size() > 0) {
          for (size_t i = 1; i < task["tags"].size(); ++i) kept.push_back(task["tags"][i]);
          task["tags"] = kept;
        }
        break;
      }
      default: {  // append a line to the notes
        key = "notes";
        token = "n" + op_token;
        std::string notes = task["notes"] ? task["notes"].as<std::string>() : "";
        task["notes"] = notes + token + "\n";
        break;
      }
    }
    YAML::Emitter out;
    out << task;
    clients_[c]->Write(path, std::string(out.c_str()) + "\n");
    Record(c, id, key, token);
  }

  // Whether op i was superseded: a later op by a client that had seen it changed the same key
  // (for tags: only a removal) or deleted the task.
  bool Superseded(size_t i) const {
    for (size_t j = i + 1; j < ops_.size(); ++j) {
      const Op& later = ops_[j];
      if (later.task != ops_[i].task || !later.seen_before.count(static_cast<int>(i))) continue;
      if (later.key == "delete") return true;
      if (later.key == ops_[i].key && later.key != "notes" &&
          (later.key != "tags" || later.token.empty())) {
        return true;
      }
      if (ops_[i].key == "create" && later.key == "title") return true;
    }
    return false;
  }

  void Check() {
    const auto tree = clients_[0]->Tree();
    // KEEP_RANDOM=DIR keeps a copy of every repository of the run, to study a failing seed.
    if (const char* keep = std::getenv("KEEP_RANDOM")) {
      RunCommand("rm -rf " + Quote(keep) + " && cp -a " + Quote(dir_.path()) + " " + Quote(keep));
    }
    for (int c = 1; c < kClients; ++c) EXPECT_EQ(clients_[c]->Tree(), tree) << "client " << c;
    EXPECT_EQ(GitFsckErrors(remote_), "");
    for (int c = 0; c < kClients; ++c) EXPECT_EQ(GitFsckErrors(clients_[c]->path()), "");
    for (const auto& [path, content] : tree) {
      EXPECT_EQ(content.find("<<<<<<<"), std::string::npos) << path;
      if (path.find(".conflict-") == std::string::npos) {
        EXPECT_TRUE(storage::ValidateTask(content).ok()) << path << ":\n" << content;
      }
    }
    checked_values_ = 0;
    for (size_t i = 0; i < ops_.size(); ++i) {
      const Op& op = ops_[i];
      if (op.key == "delete") {
        // No op on the task the deleter had not seen: the task must be gone.
        bool concurrent = false;
        for (size_t j = 0; j < ops_.size(); ++j) {
          if (j != i && ops_[j].task == op.task && !op.seen_before.count(static_cast<int>(j)) &&
              ops_[j].key != "delete" &&
              !(j > i && ops_[j].seen_before.count(static_cast<int>(i)))) {
            concurrent = true;
          }
        }
        if (!concurrent) {
          EXPECT_EQ(Find(0, op.task), "") << "deleted task " << op.task;
        }
        continue;
      }
      if (op.token.empty() || Superseded(i)) continue;
      // Concurrent renames of one task may leave it under two names; no value may vanish.
      std::string copies;
      for (const auto& [path, content] : tree) {
        if (content.rfind("id: " + op.task + "\n", 0) == 0) copies += content;
      }
      ASSERT_NE(copies, "") << "task " << op.task << " lost (op " << i << ", " << op.key << ")";
      EXPECT_NE(copies.find(op.token), std::string::npos)
          << "value " << op.token << " of " << op.key << " lost in " << op.task << ":\n"
          << copies;
      ++checked_values_;
    }
    EXPECT_GT(checked_values_, 10);
    std::set<std::string> ids;
    int duplicates = 0;
    for (const auto& [path, content] : tree) {
      if (content.rfind("id: ", 0) == 0 &&
          !ids.insert(content.substr(0, content.find('\n'))).second) {
        ++duplicates;
      }
    }
    ::testing::Test::RecordProperty("tasks_under_two_names", duplicates);
    std::printf("seed: %zu ops, %d values checked, %d task(s) left under two names\n", ops_.size(),
                checked_values_, duplicates);
  }

  std::mt19937 rng_;
  TempDir dir_;
  std::string remote_;
  std::vector<std::unique_ptr<SyncClient>> clients_;
  std::vector<Op> ops_;
  std::vector<std::set<int>> seen_;
  std::set<int> remote_seen_;
  int checked_values_ = 0;
  int64_t ticks_ = 0;
};

class RandomizedSyncTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(RandomizedSyncTest, ClientsConvergeAndNoCommittedValueVanishes) {
  RandomizedSync(GetParam()).Run();
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomizedSyncTest, ::testing::Range(1u, 1u + kSeeds));

}  // namespace
}  // namespace taskfs::testing
