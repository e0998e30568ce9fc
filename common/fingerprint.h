#pragma once

#include <QString>
#include <QStringView>

/// Certificate fingerprints as people compare them: the SHA-256 of a
/// certificate's DER bytes. Pure string functions, so that the server, the
/// app and discovery agree without linking Qt Network here.
namespace Natter::Fingerprint {

/// 64 lowercase hex digits, the canonical form (in invite links, discovery,
/// settings). Accepts upper case, colons and spaces; empty if it is not a
/// SHA-256 fingerprint.
QString normalized(QStringView text);

/// Sixteen groups of four upper-case hex digits, for reading aloud:
/// "3F2A 91C0 ...".
QString display(QStringView canonical);

/// display() in two lines of eight groups, as the host's Chat Info and the
/// trust question both show it, so that the two can be read side by side.
QString displayLines(QStringView fingerprint);

} // namespace Natter::Fingerprint
