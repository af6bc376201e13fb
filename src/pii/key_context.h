// What a property's key says about its value, for the PII scanner's ambiguous cases: `app_version:
// "2.1.4.13"` is a version, not an IP; `order_id` and `sku` hold identifiers, not card or phone numbers;
// `api_key` holds a secret; `phone` a phone number; `full_name` a person's name.
// Thread-safety: pure function over its argument.
#pragma once

#include <cstdint>
#include <string_view>

namespace vg {

enum class NameKey : uint8_t {
  kNone,
  kPerson,       // the whole value is a person's name ($name, full_name, first_name, customer_name, ...)
  kMaybePerson,  // often a person's name (name, account_name, owner, author, ...): confirm by dictionary
};

struct KeyContext {
  bool identifier = false;  // build, version, order, invoice, sku, *_id, ref, hash...: numbers are ids
  bool version = false;     // version, build, release...: dotted numbers are versions
  bool phone = false;
  bool ssn = false;
  bool card = false;
  bool ip = false;
  bool email = false;
  bool secret = false;      // api_key, token, secret, credentials, authorization...
  bool password = false;    // password, passwd, pin...: any value is a secret
  NameKey name = NameKey::kNone;
  bool not_person = false;  // city, company, product, event...: capitalised words here are rarely people
};

// Classifies the last object key of `key_path` ("properties.context.app_version" -> app_version;
// array indices are skipped, so "properties.phones[1]" -> phones). Keys are split into words on
// punctuation and camelCase ("$app_version_string" -> app, version, string; "phoneNumber" -> phone,
// number) and matched by word.
KeyContext ClassifyKey(std::string_view key_path);

}  // namespace vg
