<?php
// A long-running PHP CLI worker for benches/redis_cycle.rs: PHP's native
// sessions on phpredis, driven over stdin/stdout one request per line, so
// that process start-up is not measured. The bench passes the session
// settings with -d (save_path, locking); this file sets only what a CLI
// needs to use sessions at all (no cookies, no cache headers).
//
//   c        create a session holding user, count and cart; prints its ID
//   w <id>   writing request: start, read the 3 items, count + 1, close;
//            prints the new count, or "E <why>"
//   r <id>   read-only request (read_and_close): prints "ok", or "E <why>"
//
// Any failure of session_start (a lock not acquired in time, an unknown ID
// under use_strict_mode) is reported as "E ..." and the request writes
// nothing.
ini_set('session.use_cookies', '0');
ini_set('session.use_only_cookies', '0');
ini_set('session.use_trans_sid', '0');
ini_set('session.cache_limiter', '');
set_error_handler(function ($no, $msg) {
    $GLOBALS['last_error'] = $msg;
    return true;
});

function started($options = [])
{
    $GLOBALS['last_error'] = '';
    return @session_start($options) && session_status() === PHP_SESSION_ACTIVE;
}

function fail($why)
{
    echo 'E ', str_replace("\n", ' ', $why ?: 'session_start failed'), "\n";
}

while (($line = fgets(STDIN)) !== false) {
    $parts = explode(' ', trim($line));
    switch ($parts[0]) {
        case 'c':
            session_id(session_create_id());
            if (!started()) {
                fail($GLOBALS['last_error']);
                break;
            }
            $_SESSION['user'] = 'user@example.com';
            $_SESSION['count'] = 0;
            $_SESSION['cart'] = 19.99;
            $id = session_id();
            session_write_close();
            echo $id, "\n";
            break;
        case 'w':
            session_id($parts[1]);
            if (!started() || session_id() !== $parts[1]) {
                fail($GLOBALS['last_error']);
                if (session_status() === PHP_SESSION_ACTIVE) {
                    session_abort();
                }
                break;
            }
            $user = $_SESSION['user'];
            $count = $_SESSION['count'];
            $cart = $_SESSION['cart'];
            $_SESSION['count'] = $count + 1;
            if (!session_write_close()) {
                fail($GLOBALS['last_error'] ?: 'session_write_close failed');
                break;
            }
            echo $count + 1, "\n";
            break;
        case 'r':
            session_id($parts[1]);
            if (!started(['read_and_close' => true]) && !isset($_SESSION['count'])) {
                fail($GLOBALS['last_error']);
                break;
            }
            $user = $_SESSION['user'];
            $count = $_SESSION['count'];
            $cart = $_SESSION['cart'];
            echo "ok\n";
            break;
        default:
            exit(0);
    }
}
