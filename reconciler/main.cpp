#include "reconciler/cli.h"

int main(int argc, char** argv) { return hostform::runCli(argc, argv); }
