/*
 * fleet token create USER [--uid UID] [--operator] [--days N] [--key FILE]
 *
 * Issues a bearer token for fleetd's TCP API, signed with the cluster key
 * (readable by the operator only: mode 0600). The token is printed once on
 * stdout; nothing is logged.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fleet token create USER [--uid UID] [--operator] [--days N]\n"
               "                         [--key FILE]   (default /var/lib/gpufleet/cluster.key,\n"
               "                                          or FLEET_KEY)\n");
}

int cmd_token(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        usage(stderr);
        return 2;
    }
    static const struct option opts[] = {{"uid", required_argument, 0, 'u'},
                                         {"operator", no_argument, 0, 'o'},
                                         {"days", required_argument, 0, 'd'},
                                         {"key", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *keyfile = getenv("FLEET_KEY") ? getenv("FLEET_KEY")
                                              : "/var/lib/gpufleet/cluster.key";
    long long uid = -1, days = 30;
    int op = 0, c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "u:od:k:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'u':
            errno = 0;
            uid = strtoll(optarg, &end, 10);
            if (errno || *end || uid < 0 || uid > 4294967294LL) {
                fprintf(stderr, "fleet token: --uid: not a user id: \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'o': op = 1; break;
        case 'd':
            errno = 0;
            days = strtoll(optarg, &end, 10);
            if (errno || *end || days < 1 || days > 3650) {
                fprintf(stderr, "fleet token: --days: 1 to 3650, got \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'k': keyfile = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const char *user = argv[optind];
    if (uid < 0) {
        struct passwd *pw = getpwnam(user);
        if (!pw) {
            fprintf(stderr, "fleet token: no local user \"%s\": give --uid\n", user);
            return 2;
        }
        uid = pw->pw_uid;
    }
    uint8_t key[AUTH_KEY_BYTES];
    char err[256], tok[AUTH_TOKEN_MAX];
    if (auth_key_load(keyfile, key, err, sizeof err) != 0) {
        fprintf(stderr, "fleet token: %s\n", err);
        return 1;
    }
    int rc = auth_token_create(key, user, (uint32_t)uid, op, (int64_t)time(NULL) + days * 86400,
                               tok, sizeof tok);
    memset(key, 0, sizeof key);
    if (rc != 0) {
        fprintf(stderr, "fleet token: cannot make a token for \"%s\" (user names: letters, "
                        "digits, . _ @ $ -)\n", user);
        return 2;
    }
    printf("%s\n", tok);
    return 0;
}
