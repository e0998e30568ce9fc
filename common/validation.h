#pragma once

#include <QString>
#include <QStringView>

/// Syntactic rules shared by the server and every client, so that a client can
/// check input before it ever reaches the wire. docs/protocol.md states them.
namespace Natter::Validation {

inline constexpr qsizetype MaxRoomNameLength = 64;
inline constexpr qsizetype MaxDisplayNameLength = 64;
inline constexpr qsizetype MaxEmailLength = 254;
inline constexpr qsizetype MaxClientIdLength = 64;
inline constexpr qsizetype DefaultMaxTextLength = 4000;
inline constexpr qsizetype MaxFileNameLength = 255; ///< characters of a shared file's name
inline constexpr qsizetype MaxMimeTypeLength = 127;

/// 1-64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit.
bool isValidRoomName(QStringView room);

/// A pragmatic check: 3-254 characters, exactly one '@' with text on both
/// sides, no white space, control, format (U+202E, U+200B...) or separator
/// characters, no broken surrogate pairs.
bool isValidEmail(QStringView email);

/// An email as shown to people: ASCII as it is, anything else as [U+XXXX],
/// so that look-alike letters cannot pass for the email they imitate.
QString displayableEmail(QStringView email);

/// A room name as typed (" General ") in the form rooms have ("general"):
/// trimmed and lowercased; check it with isValidRoomName() after.
QString normalizedRoom(QStringView room);

/// Emails identify users and compare case-insensitively; this is the stored form.
QString normalizedEmail(QStringView email);

/// 1-64 characters once trimmed; no control, format (U+202E right-to-left
/// override, zero-width characters) or line/paragraph separator characters,
/// no space other than U+0020, no broken surrogate pairs.
bool isValidDisplayName(QStringView name);

/// 1-64 printable ASCII characters.
bool isValidClientId(QStringView clientId);

/// The position of the first UTF-16 unit that is half of a surrogate pair
/// without its other half, or -1 when the text is well-formed Unicode.
qsizetype firstInvalidUnicode(QStringView text);

/// Length in Unicode code points (what a user calls characters), not UTF-16
/// units; an unpaired surrogate counts as one.
qsizetype textLength(QStringView text);

/// True when the text is empty or only white space.
bool isBlank(QStringView text);

/// 64 lowercase hexadecimal digits.
bool isValidSha256(QStringView digest);

/// A shared file's name as the sender gives it: 1-255 characters, well-formed
/// Unicode, no control, format (U+202E, U+200B...) or line-separator characters. Still never trusted as a
/// path: see safeFileName().
bool isValidFileName(QStringView name);

/// A local file's name made valid to share: what isValidFileName() refuses
/// left out, cut to MaxFileNameLength; "file" when nothing is left.
QString shareableFileName(QStringView name);

/// "type/subtype" of printable ASCII without spaces, at most 127 characters.
bool isValidMimeType(QStringView mime);

/// A name that is safe to create in a folder the user chose, made from what
/// a sender called a file: no path separators, no "." or ".." of its own, no
/// control or format characters, no leading dot (hidden), no trailing dots or
/// spaces, not a name Windows reserves (CON, NUL, COM1...), at most 200
/// characters with the extension kept; "file" when nothing is left.
QString safeFileName(QStringView name);

/// One emoji, as a reaction is: a single grapheme (so skin tones, flags,
/// keycaps and ZWJ sequences count as one) of at most MaxEmojiBytes, that is
/// a symbol (Unicode category So) or a keycap, not a letter or a word.
bool isValidEmoji(QStringView emoji);

} // namespace Natter::Validation
