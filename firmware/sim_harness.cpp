// Byte-level harness of the simulation transport (tritherm.firmware.transport.SimTransport).
//
// Runs a Verilated SocCore (class Vtop, built with --prefix Vtop) whose ports are the
// byte streams rx (rx__payload, rx__valid, rx__ready) and tx (tx__payload, tx__valid,
// tx__ready), a busy output, and clk/rst. Bytes read from stdin go to rx, at most one per
// cycle and only when the core is ready; every byte the core sends on tx (always ready)
// goes to stdout. The clock free-runs while the core is busy or input is queued; when the
// core is idle (busy low, nothing queued) the harness flushes stdout and blocks on stdin,
// so an idle simulation costs no CPU. It exits when stdin closes and the core is idle.
//
// Optional argument: --rx-gap N, idle cycles between two rx bytes (default 0), to pace the
// input like a UART would.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <poll.h>
#include <unistd.h>

#include "Vtop.h"
#include "verilated.h"

// Verilator escapes the double underscores of Amaranth's flattened port names.
#define RX_PAYLOAD rx___05Fpayload
#define RX_VALID rx___05Fvalid
#define RX_READY rx___05Fready
#define TX_PAYLOAD tx___05Fpayload
#define TX_VALID tx___05Fvalid
#define TX_READY tx___05Fready

namespace {

constexpr size_t kReadChunk = 65536;
constexpr size_t kFlushBytes = 4096;
constexpr uint64_t kFlushCycles = 1 << 14;   // flush pending output at least this often
constexpr uint64_t kPollCycles = 1 << 10;    // look for input this often while busy

void write_all(const std::vector<uint8_t>& data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = write(STDOUT_FILENO, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::exit(0);  // the host closed the pipe: nothing left to do
        }
        done += static_cast<size_t>(n);
    }
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t rx_gap = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--rx-gap") == 0) rx_gap = std::strtoull(argv[i + 1], nullptr, 0);
    }
    auto context = std::make_unique<VerilatedContext>();
    context->commandArgs(argc, argv);
    auto top = std::make_unique<Vtop>(context.get());

    auto tick = [&]() {
        top->clk = 0;
        top->eval();
        top->clk = 1;
        top->eval();
    };
    top->RX_VALID = 0;
    top->TX_READY = 1;
    top->rst = 1;
    for (int i = 0; i < 4; ++i) tick();
    top->rst = 0;
    top->eval();

    std::vector<uint8_t> input, output;
    size_t head = 0;
    bool eof = false;
    uint64_t cycle = 0, last_flush = 0, last_poll = 0, next_rx = 0;
    std::vector<uint8_t> chunk(kReadChunk);

    auto read_input = [&](int timeout_ms) {
        pollfd fd{STDIN_FILENO, POLLIN, 0};
        int ready = poll(&fd, 1, timeout_ms);
        if (ready < 0 && errno != EINTR) {
            eof = true;
            return;
        }
        if (ready <= 0) return;
        ssize_t n = read(STDIN_FILENO, chunk.data(), chunk.size());
        if (n <= 0) {
            if (n == 0 || errno != EINTR) eof = true;
            return;
        }
        if (head == input.size()) {
            input.clear();
            head = 0;
        }
        input.insert(input.end(), chunk.begin(), chunk.begin() + n);
    };

    for (;;) {
        bool queued = head < input.size();
        if (!queued) {
            // busy and tx valid as the last clock edge left them.
            bool idle = !top->busy && !top->TX_VALID;
            if (idle) {
                if (!output.empty()) {
                    write_all(output);
                    output.clear();
                    last_flush = cycle;
                }
                if (eof) break;
                read_input(-1);
            } else if (!eof && cycle - last_poll >= kPollCycles) {
                last_poll = cycle;
                read_input(0);
            }
            queued = head < input.size();
        }
        bool offer = queued && cycle >= next_rx;
        top->RX_VALID = offer;
        top->RX_PAYLOAD = offer ? input[head] : 0;
        top->clk = 0;
        top->eval();
        bool rx_fire = offer && top->RX_READY;
        bool tx_fire = top->TX_VALID;
        uint8_t tx_byte = top->TX_PAYLOAD;
        top->clk = 1;
        top->eval();
        ++cycle;
        if (rx_fire) {
            ++head;
            next_rx = cycle + rx_gap;
        }
        if (tx_fire) output.push_back(tx_byte);
        if (output.size() >= kFlushBytes
            || (!output.empty() && cycle - last_flush >= kFlushCycles)) {
            write_all(output);
            output.clear();
            last_flush = cycle;
        }
    }
    write_all(output);
    top->final();
    return 0;
}
