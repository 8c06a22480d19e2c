// DC-09 frames and replies. The golden frames were computed independently of
// this code, with Node's crypto module and the CRC of the iobroker.sia 2.0.4
// receiver (see the comment at each), for a fixed time and a fixed pad.
#include <catch2/catch.hpp>

#include "eg/dc09/contact_id.hpp"
#include "eg/dc09/frame.hpp"

using namespace eg;
using namespace eg::dc09;

namespace {

// 2026-11-24 22:30:00 UTC
const WallTime kTime =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + std::chrono::hours{22} + std::chrono::minutes{30};

std::string fixed_pad(std::size_t n) {
  std::string pad;
  for (std::size_t i = 0; i < n; ++i) pad.push_back(static_cast<char>('A' + i));
  return pad;
}

Key key_of(const char* hex) {
  auto key = parse_key_hex(hex);
  REQUIRE(key.ok());
  return key.value();
}

const char* kKey128 = "000102030405060708090a0b0c0d0e0f";
const char* kKey256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Message cid(unsigned sequence, const std::string& data) {
  Message m;
  m.token = "ADM-CID";
  m.sequence = sequence;
  m.account = "1234";
  m.data = data;
  m.time = kTime;
  return m;
}

}  // namespace

TEST_CASE("dc09 CRC-16/ARC has the standard check value", "[dc09]") {
  CHECK(crc16_arc("123456789") == 0xBB3D);
  CHECK(crc16_arc("") == 0);
}

TEST_CASE("dc09 timestamps are UTC HH:MM:SS,MM-DD-YYYY both ways", "[dc09]") {
  CHECK(format_timestamp(kTime) == "22:30:00,11-24-2026");
  CHECK(parse_timestamp("22:30:00,11-24-2026") == kTime);
  CHECK_FALSE(parse_timestamp("22:30:00,13-24-2026"));
  CHECK_FALSE(parse_timestamp("22:30,11-24-2026"));
  CHECK_FALSE(parse_timestamp("2a:30:00,11-24-2026"));
}

TEST_CASE("dc09 Contact ID and SIA DCS data blocks", "[dc09]") {
  CHECK(contact_id_data("1234", {kNewEvent, 101, 1, 2}) == "#1234|1101 01 002");
  CHECK(contact_id_data("ABC123", {kRestore, 151, 12, 345}) == "#ABC123|3151 12 345");
  CHECK(sia_dcs_data("ABC123", "MA", 1, 2) == "#ABC123|Nri1/MA002");
}

TEST_CASE("dc09 plain frames match the golden bytes", "[dc09]") {
  // node: crc16str('"ADM-CID"0001R0L0#1234[#1234|1101 01 002]_22:30:00,11-24-2026') = 0x1D2B, length 0x3D
  CHECK(encode(cid(1, "#1234|1101 01 002"), {}) ==
        "\n1D2B003D\"ADM-CID\"0001R0L0#1234[#1234|1101 01 002]_22:30:00,11-24-2026\r");
  Message dcs = cid(42, "#ABC123|Nri1/MA002");
  dcs.token = "SIA-DCS";
  dcs.receiver = "1";
  dcs.line = "2";
  dcs.account = "ABC123";
  CHECK(encode(dcs, {}) == "\n44F10040\"SIA-DCS\"0042R1L2#ABC123[#ABC123|Nri1/MA002]_22:30:00,11-24-2026\r");
}

TEST_CASE("dc09 encrypted frames match the golden bytes (AES-128, -192 and -256, fixed pad)", "[dc09]") {
  // node: createCipheriv('aes-128-cbc', key, zero IV), no auto padding, over "ABC...|<content>"
  CHECK(encode(cid(2, "#1234|1101 01 002"), key_of(kKey128), fixed_pad) ==
        "\n639D0078\"*ADM-CID\"0002R0L0#1234[1BAC7E37F18E5C46289F442A53E8642AB08AD0A2035FCCACB5606A919EDB56FDEC18339A"
        "F4A51D7EB29331AEE83011B9\r");
  CHECK(encode(cid(3, "#1234|3101 01 002"), key_of(kKey256), fixed_pad) ==
        "\n292D0078\"*ADM-CID\"0003R0L0#1234[17E9344C793C2A09DD2F8B7DAADE8D95B7C982633D0AB1D6076966EE1F4F56DA2704CB1A"
        "571FDD3FD82E5B3BE2ECF083\r");
  CHECK(encode(cid(5, "#1234|1101 01 002"), key_of("000102030405060708090a0b0c0d0e0f1011121314151617"), fixed_pad) ==
        "\n13D10078\"*ADM-CID\"0005R0L0#1234[77E7D25A4E275A97C23C373A76D63AA2E11D622D53D71DFC6C8083A7E32E4BF52E7BB585A5"
        "4B93A06C61F238A3042098\r");  // AES-192
  Message null = cid(4, "");
  null.token = "NULL";
  CHECK(encode(null, key_of(kKey128), fixed_pad) ==
        "\nEA270055\"*NULL\"0004R0L0#1234[AE70A1034DBF926516DD0C9940FF3C65F3A616B08A00EB2DD249FCC4CD888F7C\r");
}

TEST_CASE("dc09 random pads never contain the pad terminator", "[dc09]") {
  for (int i = 0; i < 200; ++i) {
    std::string pad = random_pad(16);
    CHECK(pad.size() == 16);
    CHECK(pad.find_first_of("|[]") == std::string::npos);
    for (char c : pad) CHECK((c > 0x20 && c < 0x7F));
  }
}

TEST_CASE("dc09 keys are 32, 48 or 64 hex digits", "[dc09]") {
  CHECK(parse_key_hex(kKey128).value().size() == 16);
  CHECK(parse_key_hex("000102030405060708090A0B0C0D0E0F1011121314151617").value().size() == 24);
  CHECK(parse_key_hex(kKey256).value().size() == 32);
  CHECK_FALSE(parse_key_hex("0001"));
  CHECK_FALSE(parse_key_hex("zz0102030405060708090a0b0c0d0e0f"));
}

TEST_CASE("dc09 replies: ACK in every common form", "[dc09]") {
  auto frame_of = [](const std::string& body) {
    char header[16];
    std::snprintf(header, sizeof header, "%04X%04X", crc16_arc(body), static_cast<unsigned>(body.size()));
    return "\n" + std::string(header) + body + "\r";
  };
  SECTION("plain ACK, as iobroker.sia sends it (no timestamp)") {
    auto reply = parse_reply(frame_of("\"ACK\"0001R0L0#1234[]"), {});
    REQUIRE(reply.ok());
    CHECK(reply.value().kind == Reply::Kind::ack);
    CHECK(reply.value().sequence == 1);
    CHECK(reply.value().receiver == "0");
    CHECK(reply.value().line == "0");
    CHECK(reply.value().account == "1234");
    CHECK_FALSE(reply.value().time);
  }
  SECTION("ACK with a timestamp and lowercase hex in the header") {
    std::string body = "\"ACK\"0042R1AL3#abc123[]_22:30:00,11-24-2026";
    char header[16];
    std::snprintf(header, sizeof header, "%04x%04x", crc16_arc(body), static_cast<unsigned>(body.size()));
    auto reply = parse_reply("\n" + std::string(header) + body + "\r", {});
    REQUIRE(reply.ok());
    CHECK(reply.value().sequence == 42);
    CHECK(reply.value().receiver == "1A");
    CHECK(reply.value().account == "abc123");
    CHECK(reply.value().time == kTime);
  }
  SECTION("\"None\" in place of a missing receiver number") {
    auto reply = parse_reply(frame_of("\"ACK\"0007RNoneL0#1234[]"), {});
    REQUIRE(reply.ok());
    CHECK(reply.value().receiver.empty());
    CHECK(reply.value().sequence == 7);
  }
  SECTION("no receiver field at all") {
    auto reply = parse_reply(frame_of("\"ACK\"0007L0#1234[]"), {});
    REQUIRE(reply.ok());
    CHECK(reply.value().account == "1234");
  }
  SECTION("binary CRC") {
    std::string body = "\"ACK\"0003R0L0#1234[]";
    std::uint16_t crc = crc16_arc(body);
    char length[8];
    std::snprintf(length, sizeof length, "%04X", static_cast<unsigned>(body.size()));
    std::string frame = "\n" + std::string(1, static_cast<char>(crc >> 8)) +
                        std::string(1, static_cast<char>(crc & 0xFF)) + length + body + "\r";
    auto reply = parse_reply(frame, {});
    REQUIRE(reply.ok());
    CHECK(reply.value().sequence == 3);
  }
  SECTION("encrypted ACK from iobroker.sia: lowercase hex, zero pad and a PKCS#7 tail") {
    // Built by iobroker.sia 2.0.4's createACK for sequence 0002 at 22:30:00.
    auto reply = parse_reply(
        "\nE9B30074\"*ACK\"0002R0L0#1234[448f835f503d21ff6d3004df28378506103e104d913177fd0ebe5e809c789da91ebced5be8a190"
        "9e2a4cc911c435d6c4\r",
        key_of(kKey128));
    REQUIRE(reply.ok());
    CHECK(reply.value().kind == Reply::Kind::ack);
    CHECK(reply.value().encrypted);
    CHECK(reply.value().sequence == 2);
    CHECK(reply.value().time == kTime);
  }
  SECTION("encrypted ACK in pysiaalarm's form: '0' padding and no '|', closing bracket after the hex") {
    // node: aes-128-cbc, zero IV, over "00000000000]_22:30:00,11-24-2026"
    auto reply = parse_reply(
        "\n5FB10055\"*ACK\"0009R0L0#1234[733007463A736E9FBDB310060282FAE592B447D648242CB90B98EDD4E7F7C388]\r",
        key_of(kKey128));
    REQUIRE(reply.ok());
    CHECK(reply.value().sequence == 9);
    CHECK(reply.value().time == kTime);
  }
  SECTION("an encrypted ACK without a key, or with the wrong key, is an error") {
    std::string frame =
        "\nE9B30074\"*ACK\"0002R0L0#1234[448f835f503d21ff6d3004df28378506103e104d913177fd0ebe5e809c789da91ebced5be8a190"
        "9e2a4cc911c435d6c4\r";
    CHECK_FALSE(parse_reply(frame, {}));
    CHECK_FALSE(parse_reply(frame, key_of(kKey256)));
  }
}

TEST_CASE("dc09 replies: NAK carries the receiver's time, DUH, and broken frames", "[dc09]") {
  SECTION("iobroker.sia's NAK: sequence 0000 and 'A0' in place of an account") {
    auto reply = parse_reply("\nC60E0025\"NAK\"0000R0L0A0[]_22:30:00,11-24-2026\r", {});
    REQUIRE(reply.ok());
    CHECK(reply.value().kind == Reply::Kind::nak);
    CHECK(reply.value().account.empty());
    CHECK(reply.value().time == kTime);
  }
  SECTION("NAK sent twice in one read: two frames, both readable") {
    std::string stream = "\nC60E0025\"NAK\"0000R0L0A0[]_22:30:00,11-24-2026\r";
    stream += stream;
    stream += "\nC60E";  // and the start of a third
    auto frames = take_frames(stream);
    REQUIRE(frames.size() == 2);
    CHECK(parse_reply(frames[0], {}).ok());
    CHECK(parse_reply(frames[1], {}).ok());
    CHECK(stream == "\nC60E");
  }
  SECTION("a NAK with an unreadable timestamp is still a NAK, without a time") {
    std::string body = "\"NAK\"0000R0L0A0[]_99:99:99,13-45-2026";
    char header[16];
    std::snprintf(header, sizeof header, "%04X%04X", crc16_arc(body), static_cast<unsigned>(body.size()));
    auto reply = parse_reply("\n" + std::string(header) + body + "\r", {});
    REQUIRE(reply.ok());
    CHECK(reply.value().kind == Reply::Kind::nak);
    CHECK_FALSE(reply.value().time);
  }
  SECTION("DUH") {
    std::string body = "\"DUH\"0005R0L0#1234[]";
    char header[16];
    std::snprintf(header, sizeof header, "%04X%04X", crc16_arc(body), static_cast<unsigned>(body.size()));
    auto reply = parse_reply("\n" + std::string(header) + body + "\r", {});
    REQUIRE(reply.ok());
    CHECK(reply.value().kind == Reply::Kind::duh);
  }
  SECTION("bad CRC, bad length, not a reply, no frame") {
    CHECK_FALSE(parse_reply("\nC60F0025\"NAK\"0000R0L0A0[]_22:30:00,11-24-2026\r", {}));
    CHECK_FALSE(parse_reply("\nC60E0026\"NAK\"0000R0L0A0[]_22:30:00,11-24-2026\r", {}));
    CHECK_FALSE(parse_reply("\n1D2B003D\"ADM-CID\"0001R0L0#1234[#1234|1101 01 002]_22:30:00,11-24-2026\r", {}));
    CHECK_FALSE(parse_reply("garbage", {}));
    std::string stream = "noise without a frame";
    CHECK(take_frames(stream).empty());
    CHECK(stream.empty());
  }
}

// Issue 13 #7: a receiver's reply decides whether an alarm counts as
// delivered, so a corrupted one must never read as an ACK for another
// message. Every single-bit flip and every truncation of real reply forms is
// refused, or (a case flip in a hex digit) still means exactly the same.
TEST_CASE("dc09 replies: corrupted or cut replies are refused or mean what they meant", "[dc09][hostile]") {
  auto frame_of = [](const std::string& body) {
    char header[16];
    std::snprintf(header, sizeof header, "%04X%04X", crc16_arc(body), static_cast<unsigned>(body.size()));
    return "\n" + std::string(header) + body + "\r";
  };
  int refused = 0, same = 0;
  for (const std::string& original :
       {frame_of("\"ACK\"0001R0L0#1234[]"), frame_of("\"ACK\"0042R1AL3#abc123[]_22:30:00,11-24-2026"),
        frame_of("\"NAK\"0000R0L0A0[]_22:30:00,11-24-2026"), frame_of("\"DUH\"0005R0L0#1234[]")}) {
    auto meant = parse_reply(original, {});
    REQUIRE(meant.ok());
    auto check = [&](const std::string& corrupted) {
      INFO(corrupted);
      auto reply = parse_reply(corrupted, {});  // an exception would fail the test case
      if (!reply.ok()) {
        ++refused;
        return;
      }
      ++same;
      CHECK(reply.value().kind == meant.value().kind);
      CHECK(reply.value().sequence == meant.value().sequence);
      CHECK(reply.value().account == meant.value().account);
    };
    for (std::size_t byte = 0; byte < original.size(); ++byte)
      for (int bit = 0; bit < 8; ++bit) {
        std::string corrupted = original;
        corrupted[byte] = static_cast<char>(corrupted[byte] ^ (1 << bit));
        check(corrupted);
      }
    for (std::size_t cut = 0; cut < original.size(); ++cut) check(original.substr(0, cut));
  }
  CHECK(refused > 100 * same);
}
