// codecbench: what decoding a client's frame costs on the server, per frame,
// through the hot path (decodeClientFrame) and through QJsonDocument alone
// (decodeClientFrameGeneral). Prints one JSON line per frame kind.
#include "common/codec.h"

#include <QElapsedTimer>

#include <cstdio>

using namespace Natter;

namespace {

double microsecondsPerDecode(const QByteArray &frame, bool general, int rounds)
{
    QElapsedTimer clock;
    clock.start();
    int decoded = 0;
    for (int i = 0; i < rounds; ++i)
        decoded +=
            (general ? Codec::decodeClientFrameGeneral(frame) : Codec::decodeClientFrame(frame)).isOk();
    const double us = double(clock.nsecsElapsed()) / 1000.0 / rounds;
    return decoded == rounds ? us : -1.0; // -1: the frame did not decode (a mistake in this file)
}

} // namespace

int main()
{
    constexpr int Rounds = 500'000;
    const struct
    {
        const char *name;
        QByteArray frame;
    } frames[] = {
        {"send_message_dm", R"({"type":"send_message","to":"peer17@bench.local","text":")" +
                                QByteArray(64, 'x') + R"(","client_id":"c-17-123456"})"},
        {"send_message_room_escapes",
         R"({"type":"send_message","room":"codeial","text":"line one\nline \"two\" \u00e9","client_id":"c-1"})"},
        {"typing", R"({"type":"typing","room":"codeial","active":true})"},
        {"history (not hot)", R"({"type":"history","room":"codeial","limit":50})"},
    };
    for (const auto &[name, frame] : frames) {
        const double hot = microsecondsPerDecode(frame, false, Rounds);
        const double general = microsecondsPerDecode(frame, true, Rounds);
        std::printf("{\"frame\":\"%s\",\"bytes\":%lld,\"decode_us\":%.3f,\"qjsondocument_us\":%.3f}\n", name,
                    static_cast<long long>(frame.size()), hot, general);
    }
    return 0;
}
