// A real guest, end to end, on a real libvirtd: Debian's stock kernel and a
// busybox initramfs (tests/guest/build-guest, from Debian packages only),
// imported into volumes through `source`, booted directly with a cloud-init
// NoCloud seed, a serial console and a NIC on a bridge hostform made. The
// guest's init (tests/guest/init) mounts the cidata CD-ROM, runs user-data,
// configures its NIC from network-config and then reads commands from its
// serial console. Under TCG (no /dev/kvm) it is ready in about 15 s.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>


#include "tests/integration/kvm/kvm_box.h"

namespace hostform::kvmtest {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sha256(const fs::path& file) {
  Outcome r = testing::runProgram("/usr/bin/sha256sum", {file.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.out.substr(0, 64);
}

/// Waits until `file` contains `text`; false after `limit`.
bool waitForText(const fs::path& file, const std::string& text, std::chrono::seconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (contains(readFile(file), text)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

/// `hostform console` with its stdin and stdout on pipes, as a script would
/// drive it: send keys, read what the console shows.
class ConsoleSession {
 public:
  explicit ConsoleSession(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
  }
  ~ConsoleSession() {
    if (to_ >= 0) ::close(to_);
    ::close(from_);
    if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ConsoleSession(const ConsoleSession&) = delete;
  ConsoleSession& operator=(const ConsoleSession&) = delete;

  void send(const std::string& keys) { ASSERT_EQ(::write(to_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size())); }
  /// Reads until the output holds `text` or `limit` passes; true when it does.
  bool waitFor(const std::string& text, std::chrono::seconds limit) {
    const auto end = Clock::now() + limit;
    while (!contains(seen_, text) && Clock::now() < end) {
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(from_, buf, sizeof buf);
      if (n <= 0) break;
      seen_.append(buf, static_cast<std::size_t>(n));
    }
    return contains(seen_, text);
  }
  /// Its exit code, waiting at most `limit`; -1 if it is still running.
  int exitCode(std::chrono::seconds limit) {
    const auto end = Clock::now() + limit;
    int status = 0;
    while (Clock::now() < end) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  const std::string& seen() const { return seen_; }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  std::string seen_;
};

/// A /24 of 10.0.0.0/8 for this run, so parallel runs on one machine differ.
std::string subnet() { return "10.213." + std::to_string(::getpid() % 250) + "."; }

TEST(Guest, BootsFromImportedImagesWithCloudInitAConsoleAndAnAddressOnItsBridge) {
  const fs::path images = HOSTFORM_GUEST_IMAGES;
  ASSERT_TRUE(fs::exists(images / "vmlinuz") && fs::exists(images / "initrd.img"))
      << "tests/guest/build-guest did not run (ctest fixture guest_images)";
  KvmBox box;
  const std::string br = box.name("br"), pool = box.name("pool"), vm = box.name("vm");
  const std::string net = subnet(), hostAddress = net + "1", guestAddress = net + "2";
  const std::string mac = "52:54:00:21:3" + std::to_string(::getpid() % 10) + ":01";
  const std::string marker = "marker-" + box.prefix();

  // The kernel by a plain path, the initramfs by a file:// URL: both through `source`.
  const std::string manifest =
      "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: " + br + "}\nspec: {addresses: [" + hostAddress +
      "/24]}\n---\n" + box.poolDoc(pool) +
      box.volumeDoc(pool, "vmlinuz", "format: raw, source: {path: " + (images / "vmlinuz").string() +
                                         ", sha256: " + sha256(images / "vmlinuz") + "}") +
      box.volumeDoc(pool, "initrd.img", "format: raw, source: {url: 'file://" + (images / "initrd.img").string() +
                                            "', sha256: " + sha256(images / "initrd.img") + "}") +
      box.vmDoc(vm,
                "  memory: 256MiB\n  machine: q35\n  cpuMode: default\n  shutdownTimeout: 1s\n"
                "  kernel:\n    volume: {pool: " + pool + ", name: vmlinuz}\n"
                "    initrd: {volume: {pool: " + pool + ", name: initrd.img}}\n"
                "    cmdline: console=ttyS0 quiet panic=-1\n"
                "  interfaces: [{bridge: " + br + ", macAddress: '" + mac + "'}]\n"
                "  cloudInit:\n    pool: " + pool + "\n"
                "    userData: |\n      #!/bin/sh\n      echo " + marker + "\n"
                "    networkConfig:\n      version: 2\n      ethernets:\n        nic0:\n"
                "          match: {macaddress: '" + mac + "'}\n          addresses: [" + guestAddress + "/24]\n");
  const std::string file = box.manifest(manifest);

  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_FALSE(contains(plan.out, "echo " + marker)) << "the plan prints userData:\n" << plan.out;

  const auto start = Clock::now();
  Outcome applied = box.hostform({"apply", "-f", file});
  ASSERT_EQ(applied.code, 0) << applied.out << applied.err;
  const double applySeconds = std::chrono::duration<double>(Clock::now() - start).count();

  // The console log under the state directory shows the guest's progress.
  const fs::path log = box.dir().path() + "/state/console/" + vm + ".log";
  ASSERT_TRUE(waitForText(log, "hostform-guest: ready", std::chrono::seconds(180)))
      << "the guest did not get ready; its console log:\n" << readFile(log);
  const double readySeconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cerr << "guest: apply took " << applySeconds << " s; ready " << readySeconds << " s after apply started (accelerator "
            << box.accelerator() << ")\n";
  const std::string console = readFile(log);
  EXPECT_TRUE(contains(console, "hostform-guest: seed /dev/")) << console;
  EXPECT_TRUE(contains(console, marker + "\r\n") || contains(console, marker + "\n")) << console;
  EXPECT_TRUE(contains(console, " " + guestAddress + "/24")) << console;
  EXPECT_TRUE(contains(console, "hostform-guest: instance-id " + vm + "-")) << console;

  // The guest answers on the bridge hostform made.
  bool answered = false;
  for (int i = 0; i < 10 && !answered; ++i)
    answered = testing::runProgram("/bin/busybox", {"ping", "-c", "1", "-W", "2", guestAddress}).code == 0;
  EXPECT_TRUE(answered) << "no answer from " << guestAddress;

  // status: running, with the address its guest agent reports.
  const auto vmFacts = [&] {
    Outcome status = box.hostform({"status", "-f", file, "-o", "json"});
    EXPECT_EQ(status.code, 0) << status.out << status.err;
    const nlohmann::json parsed = nlohmann::json::parse(status.out);
    for (const auto& r : parsed.at("resources"))
      if (r.at("kind") == "VirtualMachine") return nlohmann::json(r.at("facts"));
    return nlohmann::json::object();
  };
  const auto addressFrom = [&](const std::string& source) {
    return nlohmann::json::parse(R"([{"address":")" + guestAddress + R"(","mac":")" + mac + R"(","source":")" + source +
                                 R"("}])");
  };
  // The agent starts with the guest but may answer its first request late on
  // a loaded host (TCG): status then falls back to the neighbour table, so
  // ask again for a few seconds until the agent has answered.
  nlohmann::json facts = vmFacts();
  for (int i = 0; i < 20 && facts.value("addresses", nlohmann::json()) != addressFrom("agent"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    facts = vmFacts();
  }
  EXPECT_EQ(facts.value("state", ""), "running") << facts;
  EXPECT_EQ(facts.value("addresses", nlohmann::json()), addressFrom("agent")) << facts;
  Outcome text = box.hostform({"status", "-f", file});
  EXPECT_TRUE(contains(text.out, guestAddress + " (agent)")) << text.out;

  // The console: a command typed into it runs in the guest (here: stop the
  // agent); Ctrl+] leaves.
  {
    ConsoleSession session({HOSTFORM_BINARY, "console", vm, "--libvirt-uri", "qemu:///system"});
    ASSERT_TRUE(session.waitFor("Escape character is ^]", std::chrono::seconds(20))) << session.seen();
    session.send("killall qemu-ga; echo console-$((6 * 7))\n");
    EXPECT_TRUE(session.waitFor("console-42", std::chrono::seconds(30))) << session.seen();
    session.send("\x1d");
    EXPECT_EQ(session.exitCode(std::chrono::seconds(10)), 0) << session.seen();
  }
  // Without an agent, the address is the one the host's neighbour table has for its MAC.
  facts = vmFacts();
  EXPECT_EQ(facts.value("addresses", nlohmann::json()), addressFrom("neighbour")) << facts;

  box.expectConverged(file);

  // With the agent back, a stop goes through it: the guest powers off cleanly,
  // long before the shutdown timeout would force it.
  {
    ConsoleSession session({HOSTFORM_BINARY, "console", vm, "--libvirt-uri", "qemu:///system"});
    ASSERT_TRUE(session.waitFor("Escape character is ^]", std::chrono::seconds(20))) << session.seen();
    session.send("start_agent\n");
    EXPECT_TRUE(session.waitFor("guest agent on", std::chrono::seconds(30))) << session.seen();
    session.send("\x1d");
    EXPECT_EQ(session.exitCode(std::chrono::seconds(10)), 0) << session.seen();
  }
  std::string stopped = manifest;
  const std::string timeout = "shutdownTimeout: 1s";
  stopped.replace(stopped.find(timeout), timeout.size(), "shutdownTimeout: 2m\n  state: stopped");
  const std::string stoppedFile = box.manifest(stopped);
  for (int i = 0; i < 50 && vmFacts().value("addresses", nlohmann::json()) != addressFrom("agent"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto stopStart = Clock::now();
  Outcome stop = box.hostform({"apply", "-f", stoppedFile});
  const double stopSeconds = std::chrono::duration<double>(Clock::now() - stopStart).count();
  ASSERT_EQ(stop.code, 0) << stop.out << stop.err;
  EXPECT_EQ(box.domainId(vm), -1);
  EXPECT_TRUE(contains(readFile(log), "hostform-guest: shutdown requested by the guest agent")) << readFile(log);
  EXPECT_LT(stopSeconds, 60.0);
  std::cerr << "guest: stopped through its agent in " << stopSeconds << " s\n";
  box.expectConverged(stoppedFile);
}


}  // namespace
}  // namespace hostform::kvmtest
