#include <cstdio>
int main() { std::puts("portico " PORTICO_VERSION); return 0; }
