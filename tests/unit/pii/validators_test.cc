#include "pii/validators.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "pii/pii_types.h"

namespace vg {
namespace {

// ---------------------------------------------------------------------------------------------------
// PII type names

TEST(PiiTypes, NamesAndPlaceholdersAreTheContract) {
  struct Want {
    PiiType type;
    const char* name;
    const char* placeholder;
  };
  const Want kWant[] = {
      {PiiType::kEmail, "email", "[EMAIL]"},
      {PiiType::kPhone, "phone", "[PHONE]"},
      {PiiType::kIpAddress, "ip_address", "[IP_ADDRESS]"},
      {PiiType::kCreditCard, "credit_card", "[CREDIT_CARD]"},
      {PiiType::kIban, "iban", "[IBAN]"},
      {PiiType::kUsSsn, "us_ssn", "[US_SSN]"},
      {PiiType::kSecret, "secret", "[SECRET]"},
      {PiiType::kPersonName, "person_name", "[PERSON_NAME]"},
  };
  static_assert(std::size(kWant) == kPiiTypeCount);
  for (const Want& w : kWant) {
    EXPECT_EQ(PiiTypeName(w.type), w.name);
    EXPECT_EQ(PiiPlaceholder(w.type), w.placeholder);
    EXPECT_EQ(PiiTypeFromName(w.name), w.type) << w.name;
  }
}

TEST(PiiTypes, UnknownNamesAreRejected) {
  EXPECT_EQ(PiiTypeFromName(""), std::nullopt);
  EXPECT_EQ(PiiTypeFromName("EMAIL"), std::nullopt);
  EXPECT_EQ(PiiTypeFromName("ip"), std::nullopt);
  EXPECT_EQ(PiiTypeFromName("email "), std::nullopt);
  EXPECT_EQ(PiiTypeFromName("[EMAIL]"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------------
// Payment cards

// `body` followed by the Luhn check digit that makes it valid.
std::string WithLuhnDigit(const std::string& body) {
  int sum = 0;
  bool twice = true;  // the check digit will be appended on the right
  for (size_t i = body.size(); i-- > 0;) {
    int d = body[i] - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return body + static_cast<char>('0' + (10 - sum % 10) % 10);
}

TEST(CreditCard, AcceptsIssuersPublishedTestNumbers) {
  struct Card {
    const char* number;
    CardIssuer issuer;
  };
  // Stripe, PayPal/Braintree and Adyen test card lists.
  const Card kCards[] = {
      {"4111111111111111", CardIssuer::kVisa},
      {"4012888888881881", CardIssuer::kVisa},
      {"4222222222222", CardIssuer::kVisa},  // 13 digits
      {"5555555555554444", CardIssuer::kMastercard},
      {"5105105105105100", CardIssuer::kMastercard},
      {"2223003122003222", CardIssuer::kMastercard},  // 2-series
      {"378282246310005", CardIssuer::kAmex},
      {"371449635398431", CardIssuer::kAmex},
      {"6011111111111117", CardIssuer::kDiscover},
      {"6011000990139424", CardIssuer::kDiscover},
      {"3530111333300000", CardIssuer::kJcb},
      {"3566002020360505", CardIssuer::kJcb},
      {"36227206271667", CardIssuer::kDiners},  // 14 digits
      {"30569309025904", CardIssuer::kDiners},
      {"38520000023237", CardIssuer::kDiners},
      {"3056930009020004", CardIssuer::kDiners},  // 16 digits
      {"6200000000000005", CardIssuer::kUnionPay},
      {"6205500000000000004", CardIssuer::kUnionPay},  // 19 digits
      {"6304000000000000", CardIssuer::kMaestro},
      {"6759649826438453", CardIssuer::kMaestro},
  };
  for (const Card& c : kCards) {
    EXPECT_TRUE(IsValidCreditCard(c.number)) << c.number;
    EXPECT_EQ(CreditCardIssuer(c.number), c.issuer) << c.number;
  }
}

TEST(CreditCard, AcceptsPrintedGroupings) {
  EXPECT_TRUE(IsValidCreditCard("4111 1111 1111 1111"));
  EXPECT_TRUE(IsValidCreditCard("4111-1111-1111-1111"));
  EXPECT_TRUE(IsValidCreditCard("3782 822463 10005"));  // Amex 4-6-5
  EXPECT_TRUE(IsValidCreditCard("3622-720627-1667"));   // Diners 4-6-4
  EXPECT_TRUE(IsValidCreditCard("4222 2222 2222 2"));   // 13 digits, short last group
  EXPECT_TRUE(IsValidCreditCard("6205 5000 0000 0000 004"));
}

TEST(CreditCard, RejectsSeparatorsThatAreNotGroupBreaks) {
  EXPECT_FALSE(IsValidCreditCard("4111-1111 1111-1111"));   // mixed kinds
  EXPECT_FALSE(IsValidCreditCard("4111  1111 1111 1111"));  // doubled
  EXPECT_FALSE(IsValidCreditCard("4111--1111-1111-1111"));
  EXPECT_FALSE(IsValidCreditCard(" 4111111111111111"));  // leading
  EXPECT_FALSE(IsValidCreditCard("4111111111111111 "));  // trailing
  EXPECT_FALSE(IsValidCreditCard("-4111111111111111"));
  EXPECT_FALSE(IsValidCreditCard("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"));
  EXPECT_FALSE(IsValidCreditCard("41 11 11 11 11 11 11 11"));
  EXPECT_FALSE(IsValidCreditCard("41111 1111 1111 111"));  // first group is not 4 digits
  EXPECT_FALSE(IsValidCreditCard("4111 111 1111 11111"));  // middle group of 3
  EXPECT_FALSE(IsValidCreditCard("4111 1111111 11111"));   // middle group of 7
  EXPECT_FALSE(IsValidCreditCard("4111.1111.1111.1111"));
  EXPECT_FALSE(IsValidCreditCard("4111/1111/1111/1111"));
  EXPECT_FALSE(IsValidCreditCard("4111x1111x1111x1111"));
  EXPECT_FALSE(IsValidCreditCard("411111111111111a"));
  EXPECT_FALSE(IsValidCreditCard(""));
  EXPECT_FALSE(IsValidCreditCard("----"));
}

TEST(CreditCard, RejectsLuhnFailures) {
  EXPECT_FALSE(IsValidCreditCard("4111111111111112"));
  EXPECT_FALSE(IsValidCreditCard("5555555555554445"));
  EXPECT_FALSE(IsValidCreditCard("378282246310006"));
  EXPECT_FALSE(IsValidCreditCard("6011111111111118"));
  EXPECT_FALSE(IsValidCreditCard("4111111111111121"));  // two digits swapped
  EXPECT_FALSE(IsValidCreditCard("4111 1111 1111 1112"));
}

TEST(CreditCard, RejectsLengthsTheIssuerDoesNotUse) {
  // Luhn-valid and in the issuer's range, but a length that issuer does not use.
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("4111111111111")));        // Visa 14
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("41111111111111")));       // Visa 15
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("41111111111111111")));    // Visa 18
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("3782822463100")));        // Amex 14
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("378282246310005")));      // Amex 16
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("55555555555544")));       // Mastercard 15
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("55555555555544444")));    // Mastercard 18
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("22230031220032")));       // Mastercard 15
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("60111111111111")));       // Discover 15
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("35301113333000")));       // JCB 15
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("62000000000000")));       // UnionPay 15
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("362272062716")));         // Diners 13
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("5018000000")));           // 11 digits
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("5018000000000000000")));  // 20 digits
}

TEST(CreditCard, AcceptsEachIssuersOtherLengths) {
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("411111111111111111")), CardIssuer::kVisa);      // 19
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("60111111111111111")), CardIssuer::kDiscover);   // 18
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("353011133330000000")), CardIssuer::kJcb);       // 19
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("6200000000000000")), CardIssuer::kUnionPay);    // 17
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("301234567890123")), CardIssuer::kDiners);       // 16
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("361234567890123456")), CardIssuer::kDiners);    // 19
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("50180000001")), CardIssuer::kMaestro);          // 12
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("589300000000000000")), CardIssuer::kMaestro);   // 19
}

TEST(CreditCard, IssuerRangeBoundaries) {
  // Mastercard 2-series is 2221-2720.
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("222100000000000")), CardIssuer::kMastercard);
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("272099999999999")), CardIssuer::kMastercard);
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("222099999999999")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("272100000000000")));
  // Mastercard 51-55.
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("560000000000001")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("500000000000001")));
  // Discover 644-649 and 65; 640-643 belong to no one.
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("644000000000000")), CardIssuer::kDiscover);
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("659999999999999")), CardIssuer::kDiscover);
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("643000000000000")));
  // 622126-622925 is co-branded Discover; the rest of 62 is UnionPay.
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("622126000000000")), CardIssuer::kDiscover);
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("622925999999999")), CardIssuer::kDiscover);
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("622125999999999")), CardIssuer::kUnionPay);
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("622926000000000")), CardIssuer::kUnionPay);
  // JCB 3528-3589.
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("352800000000000")), CardIssuer::kJcb);
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("358999999999999")), CardIssuer::kJcb);
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("352700000000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("359000000000000")));
  // Diners 300-305, 36, 38-39; 306-309 and 37x (Amex, 15 only) are not Diners.
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("3050000000000")), CardIssuer::kDiners);
  EXPECT_EQ(CreditCardIssuer(WithLuhnDigit("3999999999999")), CardIssuer::kDiners);
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("3060000000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("3700000000000")));
  // Maestro: the listed BINs only.
  for (const char* bin : {"5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"}) {
    EXPECT_EQ(CreditCardIssuer(WithLuhnDigit(std::string(bin) + "0000000")), CardIssuer::kMaestro) << bin;
  }
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("50190000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("67600000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("67640000000")));
}

TEST(CreditCard, RejectsUnknownPrefixes) {
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("123456781234567")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("700000000000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("800000000000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("900000000000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("100000000000000")));
  EXPECT_FALSE(IsValidCreditCard(WithLuhnDigit("330000000000000")));
}

TEST(CreditCard, RejectsOneRepeatedDigit) {
  EXPECT_FALSE(IsValidCreditCard("0000000000000000"));
  EXPECT_FALSE(IsValidCreditCard("0000 0000 0000 0000"));
  // Luhn-valid and in Visa's range, but a filler, not a card.
  ASSERT_EQ(WithLuhnDigit("444444444444444"), "4444444444444448");
  EXPECT_FALSE(IsValidCreditCard("4444444444444444"));
  EXPECT_FALSE(IsValidCreditCard("5555555555555555"));
}

TEST(CreditCard, IssuerNames) {
  EXPECT_EQ(CardIssuerName(CardIssuer::kVisa), "visa");
  EXPECT_EQ(CardIssuerName(CardIssuer::kMastercard), "mastercard");
  EXPECT_EQ(CardIssuerName(CardIssuer::kAmex), "amex");
  EXPECT_EQ(CardIssuerName(CardIssuer::kDiscover), "discover");
  EXPECT_EQ(CardIssuerName(CardIssuer::kJcb), "jcb");
  EXPECT_EQ(CardIssuerName(CardIssuer::kDiners), "diners");
  EXPECT_EQ(CardIssuerName(CardIssuer::kUnionPay), "unionpay");
  EXPECT_EQ(CardIssuerName(CardIssuer::kMaestro), "maestro");
}

// ---------------------------------------------------------------------------------------------------
// IBAN

TEST(Iban, AcceptsRegistryExamples) {
  // The examples the SWIFT IBAN registry (and the ECBS standard) print for each country.
  for (const char* iban : {
           "GB82WEST12345698765432",
           "GB29NWBK60161331926819",
           "DE89370400440532013000",
           "FR1420041010050500013M02606",
           "NL91ABNA0417164300",
           "CH9300762011623852957",
           "BE68539007547034",
           "NO9386011117947",                   // shortest: 15
           "MT84MALT011000012345MTLCAST001S",   // 31
           "LC55HEMM000100010012001200023015",  // 32
           "RU0304452522540817810538091310419",  // longest: 33
           "ES9121000418450200051332",
           "IT60X0542811101000000123456",
           "AD1200012030200359100100",
           "SC18SSCB11010000000000001497USD",
           "FK88SC123456789012",
           "OM810180000001299123456",
           "HN88CABF00000000000250005469",
           "YE15CBYE0001018861234567891234",
       }) {
    EXPECT_TRUE(IsValidIban(iban)) << iban;
  }
}

TEST(Iban, AcceptsThePrintFormInGroupsOfFour) {
  EXPECT_TRUE(IsValidIban("GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(IsValidIban("DE89 3704 0044 0532 0130 00"));
  EXPECT_TRUE(IsValidIban("FR14 2004 1010 0505 0001 3M02 606"));
  EXPECT_TRUE(IsValidIban("NO93 8601 1117 947"));
}

TEST(Iban, RejectsOtherSpacing) {
  EXPECT_FALSE(IsValidIban("GB82  WEST 1234 5698 7654 32"));
  EXPECT_FALSE(IsValidIban(" GB82 WEST 1234 5698 7654 32"));
  EXPECT_FALSE(IsValidIban("GB82 WEST 1234 5698 7654 32 "));
  EXPECT_FALSE(IsValidIban("GB82WEST 1234 5698 7654 32"));
  EXPECT_FALSE(IsValidIban("GB82 WEST 1234 5698 765432"));
  EXPECT_FALSE(IsValidIban("GB82-WEST-1234-5698-7654-32"));
  EXPECT_FALSE(IsValidIban("GB82\tWEST\t1234\t5698\t7654\t32"));
}

TEST(Iban, RejectsChangedCharacters) {
  EXPECT_FALSE(IsValidIban("GB82WEST12345698765433"));
  EXPECT_FALSE(IsValidIban("GB82WEST12345698765423"));  // swapped
  EXPECT_FALSE(IsValidIban("DE89370400440532013001"));
  EXPECT_FALSE(IsValidIban("GB83WEST12345698765432"));
  EXPECT_FALSE(IsValidIban("NL91ABNA0417164301"));
  EXPECT_FALSE(IsValidIban("FR1420041010050500013M02607"));
}

TEST(Iban, RejectsWrongLengths) {
  EXPECT_FALSE(IsValidIban("GB82WEST1234569876543"));
  EXPECT_FALSE(IsValidIban("GB82WEST123456987654321"));
  EXPECT_FALSE(IsValidIban("NO938601111794"));
  EXPECT_FALSE(IsValidIban("GB82"));
  EXPECT_FALSE(IsValidIban("GB"));
  EXPECT_FALSE(IsValidIban(""));
  EXPECT_FALSE(IsValidIban("RU0304452522540817810538091310419000"));  // beyond 34
}

TEST(Iban, RejectsUnknownCountries) {
  EXPECT_FALSE(IsValidIban("XX82WEST12345698765432"));
  EXPECT_FALSE(IsValidIban("US82WEST12345698765432"));
  EXPECT_FALSE(IsValidIban("1282WEST12345698765432"));
}

TEST(Iban, RejectsLowerCase) {
  EXPECT_FALSE(IsValidIban("gb82west12345698765432"));
  EXPECT_FALSE(IsValidIban("GB82west12345698765432"));
}

TEST(Iban, CheckDigitsMustBe02To98) {
  // Same account: the true check digits 02/98/97 pass; their mod-97 aliases 99/01/00 also give a
  // remainder of 1 but are never issued.
  EXPECT_TRUE(IsValidIban("DE02370400440532000016"));
  EXPECT_FALSE(IsValidIban("DE99370400440532000016"));
  EXPECT_TRUE(IsValidIban("DE98370400440532000034"));
  EXPECT_FALSE(IsValidIban("DE01370400440532000034"));
  EXPECT_TRUE(IsValidIban("DE97370400440532000052"));
  EXPECT_FALSE(IsValidIban("DE00370400440532000052"));
}

TEST(Iban, RegistryLengths) {
  struct Want {
    const char* country;
    int length;
  };
  const Want kWant[] = {{"DE", 22}, {"GB", 22}, {"FR", 27}, {"NL", 18}, {"ES", 24}, {"IT", 27},
                        {"CH", 21}, {"BE", 16}, {"NO", 15}, {"MT", 31}, {"LC", 32}, {"RU", 33},
                        {"BR", 29}, {"SA", 24}, {"EG", 29}, {"AX", 18}, {"GF", 27}, {"JE", 22}};
  for (const Want& w : kWant) EXPECT_EQ(IbanLengthForCountry(w.country), w.length) << w.country;
  EXPECT_EQ(IbanLengthForCountry("US"), 0);
  EXPECT_EQ(IbanLengthForCountry("de"), 0);
  EXPECT_EQ(IbanLengthForCountry("D"), 0);
  EXPECT_EQ(IbanLengthForCountry(""), 0);
  EXPECT_EQ(IbanLengthForCountry("DEU"), 0);
}

// ---------------------------------------------------------------------------------------------------
// US SSN

TEST(UsSsn, AcceptsTheThreeFormats) {
  EXPECT_TRUE(IsValidUsSsn("536-22-1234"));
  EXPECT_TRUE(IsValidUsSsn("536 22 1234"));
  EXPECT_TRUE(IsValidUsSsn("536221234"));
  EXPECT_TRUE(IsValidUsSsn("001-01-0001"));
  EXPECT_TRUE(IsValidUsSsn("665-99-9999"));
  EXPECT_TRUE(IsValidUsSsn("667-01-0001"));
  EXPECT_TRUE(IsValidUsSsn("899-99-9999"));
  EXPECT_TRUE(IsValidUsSsn("078-05-1121"));  // a neighbour of the Woolworth number
}

TEST(UsSsn, RejectsOtherShapes) {
  EXPECT_FALSE(IsValidUsSsn("536-22 1234"));  // mixed separators
  EXPECT_FALSE(IsValidUsSsn("536 22-1234"));
  EXPECT_FALSE(IsValidUsSsn("536-221-234"));
  EXPECT_FALSE(IsValidUsSsn("53-622-1234"));
  EXPECT_FALSE(IsValidUsSsn("5362-21-234"));
  EXPECT_FALSE(IsValidUsSsn("536-22-123"));
  EXPECT_FALSE(IsValidUsSsn("536-22-12345"));
  EXPECT_FALSE(IsValidUsSsn("53622123"));
  EXPECT_FALSE(IsValidUsSsn("5362212345"));
  EXPECT_FALSE(IsValidUsSsn("536.22.1234"));
  EXPECT_FALSE(IsValidUsSsn("53a-22-1234"));
  EXPECT_FALSE(IsValidUsSsn("5362-1234"));
  EXPECT_FALSE(IsValidUsSsn(""));
}

TEST(UsSsn, RejectsAreasNeverAssigned) {
  EXPECT_FALSE(IsValidUsSsn("000-12-3456"));
  EXPECT_FALSE(IsValidUsSsn("000123456"));
  EXPECT_FALSE(IsValidUsSsn("666-12-3456"));
  EXPECT_FALSE(IsValidUsSsn("900-12-3456"));
  EXPECT_FALSE(IsValidUsSsn("987-65-4321"));
  EXPECT_FALSE(IsValidUsSsn("999-99-9999"));
}

TEST(UsSsn, RejectsGroupZeroAndSerialZero) {
  EXPECT_FALSE(IsValidUsSsn("536-00-1234"));
  EXPECT_FALSE(IsValidUsSsn("536001234"));
  EXPECT_FALSE(IsValidUsSsn("536-22-0000"));
  EXPECT_FALSE(IsValidUsSsn("536 22 0000"));
}

TEST(UsSsn, RejectsPublishedNeverIssuedNumbers) {
  EXPECT_FALSE(IsValidUsSsn("078-05-1120"));  // Woolworth wallet insert
  EXPECT_FALSE(IsValidUsSsn("078051120"));
  EXPECT_FALSE(IsValidUsSsn("219-09-9999"));  // SSA advertising
  EXPECT_FALSE(IsValidUsSsn("457-55-5462"));  // LifeLock advertising
  EXPECT_FALSE(IsValidUsSsn("123-45-6789"));
  EXPECT_FALSE(IsValidUsSsn("123 45 6789"));
  EXPECT_FALSE(IsValidUsSsn("123456789"));
  EXPECT_TRUE(IsValidUsSsn("123-45-6788"));
}

// ---------------------------------------------------------------------------------------------------
// IP addresses

TEST(Ipv4, AcceptsDottedQuads) {
  EXPECT_TRUE(IsValidIpv4("2.1.4.13"));  // also a version number: rejecting that is the context's job
  EXPECT_TRUE(IsValidIpv4("192.0.2.1"));
  EXPECT_TRUE(IsValidIpv4("0.0.0.0"));
  EXPECT_TRUE(IsValidIpv4("255.255.255.255"));
  EXPECT_TRUE(IsValidIpv4("10.0.100.200"));
}

TEST(Ipv4, RejectsEverythingElse) {
  EXPECT_FALSE(IsValidIpv4("256.1.1.1"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.256"));
  EXPECT_FALSE(IsValidIpv4("1.2.3"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.4.5"));
  EXPECT_FALSE(IsValidIpv4("01.2.3.4"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.04"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.00"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.1000"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.0255"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.4."));
  EXPECT_FALSE(IsValidIpv4(".1.2.3.4"));
  EXPECT_FALSE(IsValidIpv4("1..2.3"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.-4"));
  EXPECT_FALSE(IsValidIpv4("1.2.3.4 "));
  EXPECT_FALSE(IsValidIpv4("1.2.3.4/24"));
  EXPECT_FALSE(IsValidIpv4("a.b.c.d"));
  EXPECT_FALSE(IsValidIpv4("::1"));
  EXPECT_FALSE(IsValidIpv4(""));
}

TEST(Ipv6, AcceptsRfc4291TextForms) {
  EXPECT_TRUE(IsValidIpv6("::1"));
  EXPECT_TRUE(IsValidIpv6("::"));
  EXPECT_TRUE(IsValidIpv6("2001:db8::8a2e:370:7334"));
  EXPECT_TRUE(IsValidIpv6("2001:0db8:0000:0000:0000:ff00:0042:8329"));
  EXPECT_TRUE(IsValidIpv6("2001:DB8::8A2E:370:7334"));
  EXPECT_TRUE(IsValidIpv6("1:2:3:4:5:6:7:8"));
  EXPECT_TRUE(IsValidIpv6("1::"));
  EXPECT_TRUE(IsValidIpv6("1:2:3:4:5:6:7::"));
  EXPECT_TRUE(IsValidIpv6("::2:3:4:5:6:7:8"));
  EXPECT_TRUE(IsValidIpv6("fe80::1"));
  EXPECT_TRUE(IsValidIpv6("::ffff:192.0.2.1"));
  EXPECT_TRUE(IsValidIpv6("::192.0.2.1"));
  EXPECT_TRUE(IsValidIpv6("64:ff9b::192.0.2.33"));
  EXPECT_TRUE(IsValidIpv6("1:2:3:4:5:6:192.0.2.1"));
  EXPECT_TRUE(IsValidIpv6("1:2:3:4:5::192.0.2.1"));
}

TEST(Ipv6, RejectsEverythingElse) {
  EXPECT_FALSE(IsValidIpv6("1:2:3:4:5:6:7:8:9"));
  EXPECT_FALSE(IsValidIpv6("1:2:3:4:5:6:7"));
  EXPECT_FALSE(IsValidIpv6(":::"));
  EXPECT_FALSE(IsValidIpv6("1::2::3"));
  EXPECT_FALSE(IsValidIpv6("::1::"));
  EXPECT_FALSE(IsValidIpv6("1:2:3:4:5:6:7:8::"));  // "::" must stand for at least one group
  EXPECT_FALSE(IsValidIpv6("::1:2:3:4:5:6:7:8"));
  EXPECT_FALSE(IsValidIpv6(":1:2:3:4:5:6:7"));
  EXPECT_FALSE(IsValidIpv6("1:2:3:4:5:6:7:"));
  EXPECT_FALSE(IsValidIpv6(":1::"));
  EXPECT_FALSE(IsValidIpv6("1::2:"));
  EXPECT_FALSE(IsValidIpv6("12345::"));
  EXPECT_FALSE(IsValidIpv6("g::1"));
  EXPECT_FALSE(IsValidIpv6("fe80::1%eth0"));  // zone ids are not addresses in data
  EXPECT_FALSE(IsValidIpv6("[::1]"));
  EXPECT_FALSE(IsValidIpv6("::1/128"));
  EXPECT_FALSE(IsValidIpv6("::ffff:256.1.1.1"));
  EXPECT_FALSE(IsValidIpv6("::ffff:01.2.3.4"));
  EXPECT_FALSE(IsValidIpv6("::ffff:1.2.3"));
  EXPECT_FALSE(IsValidIpv6("::1.2.3.4:1"));  // the dotted quad must be last
  EXPECT_FALSE(IsValidIpv6("1:2:3:4:5:6:7:1.2.3.4"));
  EXPECT_FALSE(IsValidIpv6("::a.2.3.4"));
  EXPECT_FALSE(IsValidIpv6("1.2.3.4"));
  EXPECT_FALSE(IsValidIpv6(":"));
  EXPECT_FALSE(IsValidIpv6(""));
  EXPECT_FALSE(IsValidIpv6("1:2:3:4:5:6:7:8 "));
  EXPECT_FALSE(IsValidIpv6("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555"));
}

bool InetPton(int family, const std::string& text) {
  unsigned char buf[16];
  return inet_pton(family, text.c_str(), buf) == 1;
}

// glibc's inet_pton follows the same RFC 4291 grammar (and rejects octets with leading zeros): the two
// must agree on every string built from address-like pieces.
TEST(IpCrossCheck, AgreesWithInetPton) {
  // Mostly well-formed pieces and colons, so that many strings are addresses and the rest fail in
  // one place; then everything that can go wrong.
  const char* const kGoodPieces[] = {"0", "1", "ab", "ffff", "FFFF", "0db8", "1.2.3.4", "255.255.255.255"};
  const char* const kBadPieces[] = {"", "00000", "12345", "g1", "256.1.1.1", "01.2.3.4", "1.2.3",
                                    "1.2.3.4.5", "%eth0", " ", "1.2.3.4."};
  const char* const kGoodSeparators[] = {":", "::"};
  const char* const kColon[] = {":"};
  const char* const kBadSeparators[] = {".", ":::", "-", ""};
  std::mt19937 rng(20240611);  // fixed: the same strings every run
  auto pick = [&](const auto& good, const auto& bad) -> const char* {
    if (rng() % 8 != 0) return good[rng() % std::size(good)];
    return bad[rng() % std::size(bad)];
  };
  int v6_valid = 0, v4_valid = 0;
  for (int n = 0; n < 50000; ++n) {
    std::string s;
    if (rng() % 4 == 0) s += pick(kGoodSeparators, kBadSeparators);
    int pieces = 1 + static_cast<int>(rng() % 9);
    for (int p = 0; p < pieces; ++p) {
      if (p > 0) s += rng() % 6 == 0 ? "::" : pick(kColon, kBadSeparators);
      s += pick(kGoodPieces, kBadPieces);
    }
    if (rng() % 8 == 0) s += pick(kGoodSeparators, kBadSeparators);
    bool v6 = IsValidIpv6(s), v4 = IsValidIpv4(s);
    EXPECT_EQ(v6, InetPton(AF_INET6, s)) << "IPv6: \"" << s << '"';
    EXPECT_EQ(v4, InetPton(AF_INET, s)) << "IPv4: \"" << s << '"';
    v6_valid += v6;
    v4_valid += v4;
  }
  // The generator must produce both verdicts, or the comparison proves little.
  EXPECT_GT(v6_valid, 1000);
  EXPECT_GT(v4_valid, 100);
}

// ---------------------------------------------------------------------------------------------------
// Email and top-level domains

TEST(Email, AcceptsAddressesUnderRealTlds) {
  EXPECT_TRUE(IsValidEmail("jane@example.com"));
  EXPECT_TRUE(IsValidEmail("a.b+tag@sub.example.co.uk"));
  EXPECT_TRUE(IsValidEmail("x@example.museum"));
  EXPECT_TRUE(IsValidEmail("first.last@example.com"));
  EXPECT_TRUE(IsValidEmail("JANE@EXAMPLE.COM"));
  EXPECT_TRUE(IsValidEmail("o'brien@example.ie"));
  EXPECT_TRUE(IsValidEmail("!#$%&'*+-/=?^_`{|}~@example.org"));
  EXPECT_TRUE(IsValidEmail("user@my-host.example.de"));
  EXPECT_TRUE(IsValidEmail("user@123.example.net"));
}

TEST(Email, RejectsDomainsWithoutARealTld) {
  EXPECT_FALSE(IsValidEmail("logo@2x.png"));
  EXPECT_FALSE(IsValidEmail("user@localhost"));
  EXPECT_FALSE(IsValidEmail("user@host.local"));
  EXPECT_FALSE(IsValidEmail("icon@3x.jpg"));
  EXPECT_FALSE(IsValidEmail("user@example.invalidtld"));
  EXPECT_FALSE(IsValidEmail("user@com"));  // one label
}

TEST(Email, RejectsMalformedLocalParts) {
  EXPECT_FALSE(IsValidEmail(".a@example.com"));
  EXPECT_FALSE(IsValidEmail("a.@example.com"));
  EXPECT_FALSE(IsValidEmail("a..b@example.com"));
  EXPECT_FALSE(IsValidEmail("@example.com"));
  EXPECT_FALSE(IsValidEmail("a b@example.com"));
  EXPECT_FALSE(IsValidEmail("a\"b@example.com"));
  EXPECT_FALSE(IsValidEmail("a(b)@example.com"));
  EXPECT_FALSE(IsValidEmail("a@b@example.com"));
  EXPECT_FALSE(IsValidEmail("jane.example.com"));
  EXPECT_TRUE(IsValidEmail(std::string(64, 'a') + "@example.com"));
  EXPECT_FALSE(IsValidEmail(std::string(65, 'a') + "@example.com"));
}

TEST(Email, RejectsMalformedDomains) {
  EXPECT_FALSE(IsValidEmail("a@"));
  EXPECT_FALSE(IsValidEmail("a@.example.com"));
  EXPECT_FALSE(IsValidEmail("a@example..com"));
  EXPECT_FALSE(IsValidEmail("a@example.com."));
  EXPECT_FALSE(IsValidEmail("a@-example.com"));
  EXPECT_FALSE(IsValidEmail("a@example-.com"));
  EXPECT_FALSE(IsValidEmail("a@exa_mple.com"));
  EXPECT_FALSE(IsValidEmail("a@[192.0.2.1]"));
  EXPECT_FALSE(IsValidEmail("a@example.com>"));
  EXPECT_TRUE(IsValidEmail("a@" + std::string(63, 'b') + ".com"));
  EXPECT_FALSE(IsValidEmail("a@" + std::string(64, 'b') + ".com"));
}

TEST(Email, DomainAtMost253Characters) {
  // Four labels of 61 plus separators and ".com": 4 * 62 + 3 = 251 characters.
  std::string label(61, 'd');
  std::string domain = label + "." + label + "." + label + "." + label + ".com";
  ASSERT_EQ(domain.size(), 251u);
  EXPECT_TRUE(IsValidEmail("a@" + domain));
  EXPECT_TRUE(IsValidEmail("a@d" + domain.substr(0, 61) + "d" + domain.substr(61)));  // 253
  EXPECT_FALSE(IsValidEmail("a@dd" + domain.substr(0, 61) + "d" + domain.substr(61)));  // 254
}

TEST(Tld, KnownTldsFromTheDefaultList) {
  EXPECT_TRUE(IsKnownTld("com"));
  EXPECT_TRUE(IsKnownTld("COM"));
  EXPECT_TRUE(IsKnownTld("Uk"));
  EXPECT_TRUE(IsKnownTld("museum"));
  EXPECT_FALSE(IsKnownTld("png"));
  EXPECT_FALSE(IsKnownTld("local"));
  EXPECT_FALSE(IsKnownTld("localhost"));
  EXPECT_FALSE(IsKnownTld(""));
  EXPECT_FALSE(IsKnownTld(".com"));
  EXPECT_FALSE(IsKnownTld("com."));
  EXPECT_FALSE(IsKnownTld("co.uk"));
  EXPECT_FALSE(IsKnownTld(std::string(300, 'c')));
}

// The deployed configuration: Debian's publicsuffix package is installed (scripts/setup.sh), so the
// default table is the full list, not the fallback.
TEST(Tld, DefaultTableIsThePublicSuffixList) {
  const TopLevelDomains& tlds = TopLevelDomains::Default();
  ASSERT_TRUE(tlds.from_public_suffix_list());
  EXPECT_GT(tlds.size(), 1000u);
  EXPECT_TRUE(IsKnownTld("photography"));
  EXPECT_TRUE(IsKnownTld("рф"));
  EXPECT_TRUE(IsKnownTld("xn--p1ai"));  // the same TLD as mail carries it
  EXPECT_TRUE(IsKnownTld("XN--P1AI"));
  EXPECT_TRUE(IsValidEmail("user@example.xn--p1ai"));
  EXPECT_TRUE(IsKnownTld("xn--vermgensberater-ctb"));
  EXPECT_TRUE(IsKnownTld("xn--fiqs8s"));  // 中国
}

class TldFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = ::testing::TempDir() + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
};

TEST_F(TldFileTest, TakesTheRightmostLabelOfEveryRule) {
  std::string path = Write("vg_psl_rules.dat",
                           "// ===BEGIN ICANN DOMAINS===\n"
                           "\n"
                           "com\n"
                           "co.uk\n"
                           "*.ck\n"
                           "!www.ck\n"
                           "!city.kawasaki.jp\n"
                           "Museum\n"
                           "org extra text after whitespace\n"
                           "net\r\n"
                           "рф\n"
                           "vermögensberater\n"
                           "中国\n"
                           "// local is only in a comment\n"
                           "*\n"
                           "   \n");
  TopLevelDomains tlds = TopLevelDomains::Load(path.c_str());
  EXPECT_TRUE(tlds.from_public_suffix_list());
  for (const char* tld : {"com", "uk", "ck", "jp", "museum", "MUSEUM", "org", "net", "рф", "xn--p1ai",
                          "vermögensberater", "xn--vermgensberater-ctb", "中国", "xn--fiqs8s"}) {
    EXPECT_TRUE(tlds.Contains(tld)) << tld;
  }
  for (const char* not_tld : {"co", "www", "kawasaki", "city", "extra", "local", "*", "!www", "net\r", ""}) {
    EXPECT_FALSE(tlds.Contains(not_tld)) << not_tld;
  }
  // com, uk, ck, jp, museum, org, net, and three unicode TLDs in both forms.
  EXPECT_EQ(tlds.size(), 13u);
}

// Contains looks TLDs up in a hash index: every one of many rules is found in any case, and nothing
// that differs from one by a byte, a missing last byte or an extra one is.
TEST_F(TldFileTest, FindsEveryRuleOfALongListAndNothingNearIt) {
  std::string rules;
  std::vector<std::string> tlds_in;
  for (int i = 0; i < 3000; ++i) {
    std::string tld = "t" + std::to_string(i * 7919 % 100003) + "x";
    tlds_in.push_back(tld);
    rules += tld + "\n";
  }
  TopLevelDomains tlds = TopLevelDomains::Load(Write("vg_psl_many.dat", rules).c_str());
  EXPECT_EQ(tlds.size(), tlds_in.size());
  for (const std::string& tld : tlds_in) {
    EXPECT_TRUE(tlds.Contains(tld)) << tld;
    std::string upper = tld;
    for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    EXPECT_TRUE(tlds.Contains(upper)) << upper;
    EXPECT_FALSE(tlds.Contains(tld.substr(0, tld.size() - 1))) << tld;
    EXPECT_FALSE(tlds.Contains(tld + "x")) << tld;
    std::string other = tld;
    other[0] = 'u';
    EXPECT_FALSE(tlds.Contains(other)) << other;
  }
}

TEST_F(TldFileTest, FallsBackToBuiltInTldsWhenTheFileIsMissing) {
  TopLevelDomains tlds = TopLevelDomains::Load("/nonexistent/vg/public_suffix_list.dat");
  EXPECT_FALSE(tlds.from_public_suffix_list());
  for (const char* tld : {"com", "net", "org", "edu", "gov", "io", "co", "uk", "de", "fr", "museum"}) {
    EXPECT_TRUE(tlds.Contains(tld)) << tld;
  }
  EXPECT_FALSE(tlds.Contains("png"));
  EXPECT_FALSE(tlds.Contains("local"));
  EXPECT_FALSE(tlds.Contains("photography"));  // real, but not in the small list: the cost of falling back
}

TEST_F(TldFileTest, FallsBackWhenTheFileHasNoRules) {
  std::string path = Write("vg_psl_empty.dat", "// only comments\n\n");
  TopLevelDomains tlds = TopLevelDomains::Load(path.c_str());
  EXPECT_FALSE(tlds.from_public_suffix_list());
  EXPECT_TRUE(tlds.Contains("com"));
}

}  // namespace
}  // namespace vg
