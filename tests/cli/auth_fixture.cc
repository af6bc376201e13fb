// A login against an account store with the real library, for tests/cli/admin.test.mjs: proves that what
// `vendorguard admin user add` printed (the secret, the recovery codes) lets the user in.
//
//   auth_fixture login DB USER CODE     password on stdin; prints "ok <user> <role>" and exits 0, or the
//                                       error and exits 1
#include <iostream>
#include <iterator>
#include <string>

#include "auth/account_store.h"

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[1]) != "login") {
    std::cerr << "usage: auth_fixture login DB USER CODE < password\n";
    return 2;
  }
  std::string password(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>{});
  if (!password.empty() && password.back() == '\n') password.pop_back();
  vg::auth::AccountStoreOptions options;
  options.path = argv[2];
  auto store = vg::auth::AccountStore::Open(options);
  if (!store.ok()) {
    std::cerr << store.status().message() << "\n";
    return 2;
  }
  auto login = (*store)->Login(argv[3], password, argv[4], "127.0.0.1");
  if (!login.ok()) {
    std::cout << "refused: " << login.status().message() << "\n";
    return 1;
  }
  auto p = (*store)->Authenticate(login->session_token);
  if (!p.ok()) {
    std::cout << "refused: " << p.status().message() << "\n";
    return 1;
  }
  std::cout << "ok " << p->user << " " << vg::auth::RoleName(p->role) << "\n";
  return 0;
}
