#pragma once

#include <string>
#include <vector>

/// Creates an account and a device token for each email in the natterd
/// database at path (created if missing), so that natterbench's connections
/// sign in with tokens: the cost a returning client pays, without one Argon2id
/// hash per connection. Tokens are benchToken(email). False and a message on
/// stderr if the database cannot be written.
bool provisionBenchAccounts(const std::string &path, const std::vector<std::string> &emails);

std::string benchToken(const std::string &email);
