// `hostform status` and `hostform console` against the real libvirtd: a
// pool, a volume and a running tiny VM (no OS: running, an uptime, no
// addresses), checked against what libvirt itself reports; and the console
// of running guests with and without a serial port.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <libvirt/virterror.h>

#include "tests/integration/kvm/kvm_box.h"

extern char** environ;

namespace hostform::kvmtest {
namespace {

using nlohmann::json;

class KvmStatus : public ::testing::Test {
 protected:
  KvmBox box;
  std::string br = box.name("br"), pool = box.name("pool"), vm = box.name("vm");
};

TEST_F(KvmStatus, PoolVolumeAndRunningVmAsLibvirtReportsThem) {
  const std::string declared =
      box.bridgeDoc(br) + box.poolDoc(pool) + box.volumeDoc(pool, "vm.qcow2", "capacity: 64MiB") +
      box.vmDoc(vm, "  memory: 64MiB\n  shutdownTimeout: 1s\n  disks: [{volume: {pool: " + pool +
                        ", name: vm.qcow2}}]\n  interfaces: [{bridge: " + br + "}]\n");
  Outcome a = box.hostform({"apply", "-f", box.manifest(declared)});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  // Declared, not on the host: absent.
  const std::string file = box.manifest(declared + box.volumeDoc(pool, "later.raw", "capacity: 8MiB, format: raw"));

  Outcome r = box.hostform({"status", "-f", file, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  json got = json::parse(r.out);

  // What libvirt says, read here through its API.
  virStoragePoolPtr p = virStoragePoolLookupByName(box.conn(), pool.c_str());
  ASSERT_NE(p, nullptr);
  virStoragePoolInfo poolInfo{};
  ASSERT_EQ(virStoragePoolGetInfo(p, &poolInfo), 0);
  virStorageVolPtr v = virStorageVolLookupByName(p, "vm.qcow2");
  ASSERT_NE(v, nullptr);
  virStorageVolInfo volInfo{};
  ASSERT_EQ(virStorageVolGetInfo(v, &volInfo), 0);
  virStorageVolFree(v);
  virStoragePoolFree(p);

  // The uptime grows with the clock: checked for its range, then compared as 0.
  json& vmFacts = got["resources"][4]["facts"];
  ASSERT_TRUE(vmFacts["uptime"].is_number_integer()) << r.out;
  EXPECT_GE(vmFacts["uptime"].get<std::int64_t>(), 0);
  EXPECT_LT(vmFacts["uptime"].get<std::int64_t>(), 600);
  vmFacts["uptime"] = 0;
  // A pool's free space moves with the host's file system between two reads: within 1 MiB.
  json& poolFacts = got["resources"][1]["facts"];
  ASSERT_TRUE(poolFacts["available"].is_number_unsigned()) << r.out;
  EXPECT_NEAR(static_cast<double>(poolFacts["available"].get<std::uint64_t>()),
              static_cast<double>(poolInfo.available), 1 << 20);
  poolFacts["available"] = poolInfo.available;

  // The guest's tap is the bridge's one port, with its carrier on while QEMU runs.
  const auto ports = box.bridgePorts(br);
  ASSERT_EQ(ports.size(), 1u);
  json resources = json::array();
  resources.push_back({{"kind", "Bridge"}, {"name", br}, {"present", true},
                       {"facts", {{"state", "up"}, {"carrier", true},
                                  {"ports", json::array({json{{"name", ports[0]}, {"carrier", true}}})}}}});
  resources.push_back({{"kind", "StoragePool"}, {"name", pool}, {"present", true},
                       {"facts", {{"state", "active"}, {"capacity", poolInfo.capacity},
                                  {"available", poolInfo.available}}}});
  resources.push_back({{"kind", "Volume"}, {"scope", pool}, {"name", "later.raw"}, {"present", false},
                       {"facts", {{"state", "absent"}}}});
  resources.push_back({{"kind", "Volume"}, {"scope", pool}, {"name", "vm.qcow2"}, {"present", true},
                       {"facts", {{"state", "present"}, {"allocation", volInfo.allocation},
                                  {"capacity", 64u << 20}}}});
  resources.push_back({{"kind", "VirtualMachine"}, {"name", vm}, {"present", true},
                       {"facts", {{"state", "running"}, {"uptime", 0}, {"addresses", json::array()}}}});
  const json expected{{"resources", resources}};
  EXPECT_EQ(got, expected) << r.out;
  EXPECT_EQ(r.err, "");

  Outcome text = box.hostform({"status", "-f", file});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "VirtualMachine/" + vm + "\n  state      running\n  uptime     ")) << text.out;
  EXPECT_TRUE(contains(text.out, "\n  addresses  none\n")) << text.out;
  EXPECT_TRUE(contains(text.out, "Volume/" + pool + "/vm.qcow2\n  state       present\n  allocation  ")) << text.out;
  EXPECT_TRUE(contains(text.out, "\n  capacity    64MiB\n")) << text.out;
  EXPECT_TRUE(contains(text.out, "Volume/" + pool + "/later.raw\n  state  absent\n")) << text.out;

  // Stopped: the state says so, and there is no uptime or address to show.
  virDomainPtr dom = virDomainLookupByName(box.conn(), vm.c_str());
  ASSERT_NE(dom, nullptr);
  ASSERT_EQ(virDomainDestroy(dom), 0);
  virDomainFree(dom);
  Outcome stopped = box.hostform({"status", "-f", file, "-o", "json"});
  ASSERT_EQ(stopped.code, 0) << stopped.err;
  EXPECT_EQ(json::parse(stopped.out)["resources"][4]["facts"], json::parse(R"({"state": "shut off"})")) << stopped.out;
}

TEST_F(KvmStatus, BadManifestIsRefusedWithItsPosition) {
  const std::string file = box.manifest(box.vmDoc(vm, "  memory: lots\n"));
  Outcome r = box.hostform({"status", "-f", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, file + ":6:11: error: spec.memory: expected a size such as 512MiB or 20GiB, found \"lots\"\n1 error(s).\n");
}

// ---- console ----------------------------------------------------------------------

/// `hostform console` with stdin a pipe the test writes to, and its output in files.
class ConsoleProcess {
 public:
  ConsoleProcess(const KvmBox& box, const std::string& name) : out_(box.dir().path() + "/console.out"),
                                                                err_(box.dir().path() + "/console.err") {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    input_ = fds[1];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args{HOSTFORM_BINARY, "console", name, "--libvirt-uri", "qemu:///system"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, HOSTFORM_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[0]);
    if (rc != 0) throw std::runtime_error("cannot start hostform");
  }
  ~ConsoleProcess() {
    if (input_ >= 0) ::close(input_);
    if (pid_ > 0 && code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ConsoleProcess(const ConsoleProcess&) = delete;
  ConsoleProcess& operator=(const ConsoleProcess&) = delete;

  void send(const std::string& bytes) { ASSERT_EQ(::write(input_, bytes.data(), bytes.size()), ssize_t(bytes.size())); }
  /// The exit code once it exits within `deadline`; -1 while it still runs.
  int wait(std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (code_ < 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return code_;
  }
  std::string err() const { return read(err_); }

 private:
  static std::string read(const std::string& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string out_, err_;
  pid_t pid_ = -1;
  int input_ = -1;
  int code_ = -1;
};

/// Starts a transient guest without an OS, with or without a serial port,
/// defined here through libvirt so the test does not depend on what hostform
/// adds to new VMs.
void startGuest(const KvmBox& box, const std::string& name, bool serial) {
  const std::string xml = "<domain type='" + box.virtType() + "'><name>" + name +
                          "</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                          "<os><type arch='x86_64'>hvm</type></os><devices>" +
                          (serial ? "<serial type='pty'/><console type='pty'/>" : "") + "</devices></domain>";
  virDomainPtr dom = virDomainCreateXML(box.conn(), xml.c_str(), 0);
  ASSERT_NE(dom, nullptr) << virGetLastErrorMessage();
  virDomainFree(dom);
}

TEST_F(KvmStatus, ConsoleAttachesToARunningGuestAndDetachesOnCtrlRightBracket) {
  const std::string guest = box.name("con");
  startGuest(box, guest, /*serial=*/true);
  ConsoleProcess console(box, guest);
  // Attached, it stays until the escape key: the input pipe is still open.
  EXPECT_EQ(console.wait(std::chrono::seconds(2)), -1) << console.err();
  EXPECT_EQ(console.err(), "Connected to domain '" + guest + "'\nEscape character is ^] (Ctrl + ])\n");
  console.send("\x1d");
  EXPECT_EQ(console.wait(std::chrono::seconds(10)), 0) << console.err();
  EXPECT_EQ(console.err(), "Connected to domain '" + guest + "'\nEscape character is ^] (Ctrl + ])\n");
  EXPECT_GT(box.domainId(guest), 0);  // detaching leaves the guest running
}

TEST_F(KvmStatus, ConsoleOnATerminalIsRawUntilDetachedAndTheTerminalIsRestored) {
  const std::string guest = box.name("tty");
  startGuest(box, guest, /*serial=*/true);
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(HOSTFORM_BINARY, HOSTFORM_BINARY, "console", guest.c_str(), "--libvirt-uri", "qemu:///system", nullptr);
    _exit(127);
  }
  auto reap = [&](std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    int status = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  };
  std::string shown;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Until the banner's last line ends: a terminal may deliver it in pieces.
  while (!contains(shown, "(Ctrl + ])\r\n") && !contains(shown, "(Ctrl + ])\n") &&
         std::chrono::steady_clock::now() < until) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buffer[512];
      const ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n > 0) shown.append(buffer, static_cast<std::size_t>(n));
    }
  }
  EXPECT_TRUE(contains(shown, "Connected to domain '" + guest + "'\r\nEscape character is ^] (Ctrl + ])\r\n")) << shown;
  // Raw: the terminal neither echoes nor turns Ctrl+C into a signal; it goes to the guest.
  termios raw{};
  ASSERT_EQ(tcgetattr(master, &raw), 0);
  EXPECT_EQ(raw.c_lflag & (ICANON | ECHO | ISIG), 0u);
  ASSERT_EQ(::write(master, "\x03", 1), 1);
  EXPECT_EQ(reap(std::chrono::seconds(1)), -1) << "Ctrl+C ended the console";
  ASSERT_EQ(::write(master, "\x1d", 1), 1);
  const int code = reap(std::chrono::seconds(10));
  if (code < 0) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(code, 0);
  // The terminal is as it was: line editing, echo and signals back on.
  termios after{};
  ASSERT_EQ(tcgetattr(master, &after), 0);
  EXPECT_EQ(after.c_lflag & (ICANON | ECHO | ISIG), static_cast<tcflag_t>(ICANON | ECHO | ISIG));
  ::close(master);
}

TEST_F(KvmStatus, ConsoleEndsWhenTheGuestStops) {
  const std::string guest = box.name("con");
  startGuest(box, guest, /*serial=*/true);
  ConsoleProcess console(box, guest);
  EXPECT_EQ(console.wait(std::chrono::seconds(2)), -1) << console.err();
  virDomainPtr dom = virDomainLookupByName(box.conn(), guest.c_str());
  ASSERT_NE(dom, nullptr);
  EXPECT_EQ(virDomainDestroy(dom), 0);
  virDomainFree(dom);
  EXPECT_EQ(console.wait(std::chrono::seconds(10)), 0) << console.err();
}

TEST_F(KvmStatus, ConsoleOfAGuestWithoutASerialPortIsRefused) {
  const std::string guest = box.name("bare");
  startGuest(box, guest, /*serial=*/false);
  Outcome r = box.hostform({"console", guest});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: the VM " + guest +
                       " has no serial console (no <serial> or <console> device in its definition); nothing to "
                       "attach to.\n");
}

TEST_F(KvmStatus, ConsoleOfAnAbsentOrStoppedVmIsRefused) {
  const std::string missing = box.name("nope");
  Outcome r = box.hostform({"console", missing});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: there is no VM named " + missing + " (libvirt at qemu:///system).\n");

  const std::string stopped = box.name("off");
  const std::string xml = "<domain type='" + box.virtType() + "'><name>" + stopped +
                          "</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>"
                          "<devices><serial type='pty'/></devices></domain>";
  virDomainPtr dom = virDomainDefineXML(box.conn(), xml.c_str());
  ASSERT_NE(dom, nullptr);
  virDomainFree(dom);
  Outcome off = box.hostform({"console", stopped});
  EXPECT_EQ(off.code, 1);
  EXPECT_EQ(off.err, "error: the VM " + stopped + " is not running; its console exists only while it runs.\n");
}

}  // namespace
}  // namespace hostform::kvmtest
