# SPDX-License-Identifier: MIT
"""python/tvtoken.py against a scripted fake broker (tests/lib/fake-broker.c):
what it sends, how it reads replies, and how it fails on hostile ones.

Usage: /usr/bin/python3 test-python-client.py FAKE-BROKER PYTHON-DIR
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

FAKE = sys.argv[1]
sys.path.insert(0, sys.argv[2])
del sys.argv[1:3]

import tvtoken  # noqa: E402

TOKEN = {
    "accessToken": "acc-1",
    "mdAccessToken": "md-1",
    "expirationTime": "2026-11-28T14:30:00Z",
    "userId": 7,
    "name": "trader",
    "generation": 3,
}
CALL_GET_NOWAIT = '{"method":"io.tvtokend.Broker.GetToken","parameters":{"wait":false}}'
CALL_GET_WAIT = '{"method":"io.tvtokend.Broker.GetToken","parameters":{"wait":true}}'


def reply(params=None, **extra):
    """A reply message as the fake broker's script wants it."""
    msg = {"parameters": params if params is not None else {}}
    msg.update(extra)
    return json.dumps(msg)


def token_reply(**changes):
    t = dict(TOKEN)
    t.update(changes)
    return reply({"token": t})


def error(name, params):
    return json.dumps({"error": name, "parameters": params})


class FakeBrokerTest(unittest.TestCase):
    """Each test starts the fake broker with its script and checks the calls it logged."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.sock = os.path.join(self.dir, "io.tvtokend.Broker")
        self.log = os.path.join(self.dir, "log")
        self.fake = None

    def tearDown(self):
        if self.fake is not None and self.fake.poll() is None:
            self.fake.kill()
            self.fake.wait()
        shutil.rmtree(self.dir)

    def start(self, *steps):
        self.fake = subprocess.Popen([FAKE, self.sock, self.log] + [s for s in steps])
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            self.assertLess(time.monotonic(), deadline, "the fake broker did not start")
            time.sleep(0.02)
        return tvtoken.Client(socket=self.sock, timeout=5)

    def finish(self):
        self.assertEqual(self.fake.wait(timeout=20), 0, "the fake broker failed")
        self.fake = None

    def calls(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def test_get_token_sends_get_token_and_builds_a_token(self):
        c = self.start("reply=" + token_reply())
        t = c.get_token()
        self.finish()
        self.assertEqual(self.calls(), [CALL_GET_NOWAIT])
        self.assertEqual(t.access_token, "acc-1")
        self.assertEqual(t.md_access_token, "md-1")
        self.assertEqual(
            t.expiration_time,
            datetime.datetime(2026, 11, 28, 14, 30, tzinfo=datetime.timezone.utc),
        )
        self.assertEqual((t.user_id, t.name, t.generation), (7, "trader", 3))

    def test_missing_and_null_optional_fields_are_none(self):
        c = self.start(
            "reply="
            + reply({"token": {"accessToken": "acc-1", "mdAccessToken": None,
                               "expirationTime": "2026-11-28T16:30:00.5+02:00", "generation": 0}})
        )
        t = c.get_token()
        self.finish()
        self.assertIsNone(t.md_access_token)
        self.assertIsNone(t.user_id)
        self.assertIsNone(t.name)
        self.assertEqual(t.expiration_time.isoformat(), "2026-11-28T14:30:00.500000+00:00")

    def test_wait_true_and_seconds_ask_the_broker_to_wait(self):
        c = self.start("reply=" + token_reply(), "close", "reply=" + token_reply())
        c.get_token(wait=True)
        c.get_token(wait=2.5)
        self.finish()
        self.assertEqual(self.calls(), [CALL_GET_WAIT, CALL_GET_WAIT])

    def test_wait_zero_does_not_wait(self):
        c = self.start("reply=" + token_reply())
        c.get_token(wait=0)
        self.finish()
        self.assertEqual(self.calls(), [CALL_GET_NOWAIT])

    def test_wait_running_out_raises_timeout(self):
        c = self.start("hold")
        start = time.monotonic()
        with self.assertRaises(tvtoken.Timeout) as cm:
            c.get_token(wait=0.3)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        self.assertIsInstance(cm.exception, TimeoutError)
        self.fake.kill()

    def test_call_timeout_bounds_a_broker_that_never_answers(self):
        c = self.start("hold")
        c.timeout = 0.3
        with self.assertRaises(tvtoken.Timeout):
            c.status()
        self.fake.kill()

    def test_no_token_carries_state_reason_and_retry_at(self):
        c = self.start("reply=" + error("io.tvtokend.Broker.NoToken", {
            "state": "backoff", "reason": "HTTP 503", "retryAt": "2026-11-28T14:30:05Z"}))
        with self.assertRaises(tvtoken.NoToken) as cm:
            c.get_token()
        self.finish()
        e = cm.exception
        self.assertEqual((e.state, e.reason), ("backoff", "HTTP 503"))
        self.assertEqual(
            e.retry_at,
            datetime.datetime(2026, 11, 28, 14, 30, 5, tzinfo=datetime.timezone.utc),
        )
        self.assertEqual(e.error, "io.tvtokend.Broker.NoToken")
        self.assertIn("HTTP 503", str(e))
        self.assertIn("state backoff", str(e))
        self.assertIsInstance(e, tvtoken.BrokerError)

    def test_no_token_without_retry_at(self):
        c = self.start("reply=" + error("io.tvtokend.Broker.NoToken", {
            "state": "credentials_rejected", "reason": "credentials rejected", "retryAt": None}))
        with self.assertRaises(tvtoken.NoToken) as cm:
            c.get_token(wait=True)
        self.finish()
        self.assertIsNone(cm.exception.retry_at)
        self.assertEqual(cm.exception.state, "credentials_rejected")

    def test_permission_denied_reply(self):
        c = self.start("reply=" + error("org.varlink.service.PermissionDenied", {}), "close")
        with self.assertRaises(tvtoken.PermissionDenied) as cm:
            c.get_token()
        self.finish()
        self.assertIsInstance(cm.exception, PermissionError)

    def test_other_errors_name_the_error(self):
        c = self.start("reply=" + error("org.varlink.service.InvalidParameter",
                                        {"parameter": "generation"}))
        with self.assertRaises(tvtoken.BrokerError) as cm:
            c.report_rejected(9)
        self.finish()
        self.assertEqual(cm.exception.error, "org.varlink.service.InvalidParameter")
        self.assertEqual(cm.exception.parameters, {"parameter": "generation"})
        self.assertIn("InvalidParameter (parameter: generation)", str(cm.exception))
        self.assertNotIsInstance(cm.exception, tvtoken.NoToken)

    def test_report_rejected_sends_the_generation(self):
        c = self.start("reply=" + token_reply(accessToken="acc-2", generation=4))
        t = c.report_rejected(3)
        self.finish()
        self.assertEqual(
            self.calls(),
            ['{"method":"io.tvtokend.Broker.ReportRejected","parameters":{"generation":3}}'],
        )
        self.assertEqual((t.access_token, t.generation), ("acc-2", 4))

    def test_report_rejected_refuses_bad_generations(self):
        c = tvtoken.Client(socket=self.sock)
        for g in (-1, True, 1.0, "3", None):
            with self.assertRaises(ValueError):
                c.report_rejected(g)

    def test_status_returns_the_parameters(self):
        status = {"state": "valid", "generation": 3, "clients": 1, "role": "leader"}
        c = self.start("reply=" + reply(status))
        self.assertEqual(c.status(), status)
        self.finish()
        self.assertEqual(self.calls(), ['{"method":"io.tvtokend.Broker.GetStatus","parameters":{}}'])

    def test_watch_yields_every_token_until_no_token(self):
        c = self.start(
            "reply=" + reply({"token": TOKEN}, continues=True),
            "send=" + reply({"token": dict(TOKEN, accessToken="acc-2", generation=4)}, continues=True),
            "send=" + error("io.tvtokend.Broker.NoToken", {"state": "expired", "reason": "token expired"}),
        )
        got = []
        with self.assertRaises(tvtoken.NoToken) as cm:
            for t in c.watch():
                got.append(t.generation)
        self.finish()
        self.assertEqual(got, [3, 4])
        self.assertEqual(cm.exception.state, "expired")
        self.assertEqual(
            self.calls(),
            ['{"method":"io.tvtokend.Broker.GetToken","parameters":{"wait":false},"more":true}'],
        )

    def test_watch_ends_with_a_reply_without_continues(self):
        c = self.start("reply=" + reply({"token": TOKEN}, continues=True),
                       "send=" + reply({"token": TOKEN}))
        self.assertEqual(len(list(c.watch(wait=True))), 2)
        self.finish()
        self.assertIn('"wait":true', self.calls()[0])

    def test_watch_raises_connect_error_when_the_broker_goes_away(self):
        c = self.start("reply=" + reply({"token": TOKEN}, continues=True), "close")
        it = c.watch()
        next(it)
        with self.assertRaises(tvtoken.ConnectError):
            next(it)
        self.finish()

    def test_closing_a_watch_hangs_up(self):
        c = self.start("reply=" + reply({"token": TOKEN}, continues=True))
        it = c.watch()
        next(it)
        it.close()
        self.finish()  # the fake exits only once the client hung up

    def test_hostile_replies_are_protocol_errors(self):
        hostile = [
            "this is not json",
            "[1,2,3]",
            '"a string"',
            reply({"token": "not an object"}),
            reply({"token": dict(TOKEN, accessToken="")}),
            reply({"token": dict(TOKEN, accessToken=5)}),
            reply({"token": dict(TOKEN, generation=True)}),
            reply({"token": dict(TOKEN, generation=-1)}),
            reply({"token": dict(TOKEN, generation="3")}),
            reply({"token": dict(TOKEN, expirationTime="tomorrow")}),
            reply({"token": dict(TOKEN, expirationTime="2026-02-30T00:00:00Z")}),
            reply({"token": dict(TOKEN, userId="7")}),
            reply({"token": dict(TOKEN, mdAccessToken=1)}),
            json.dumps({"parameters": []}),
            reply({"token": TOKEN}, continues="yes"),
            reply({"token": TOKEN}, continues=True),
            json.dumps({"error": 5}),
            json.dumps({"error": ""}),
            "[" * 30000 + "]" * 30000,
        ]
        for text in hostile:
            with self.subTest(text=text[:60]):
                c = self.start("reply=" + text)
                with self.assertRaises(tvtoken.ProtocolError) as cm:
                    c.get_token()
                self.assertNotIn("acc-1", str(cm.exception))
                self.finish()  # the client hung up after the bad reply

    def test_a_message_over_64_kib_is_refused(self):
        c = self.start("reply=" + token_reply(name="x" * 70000))
        with self.assertRaises(tvtoken.ProtocolError):
            c.get_token()
        self.fake.kill()

    def test_a_missing_socket_is_a_connect_error(self):
        c = tvtoken.Client(socket=os.path.join(self.dir, "nothing-here"))
        with self.assertRaises(tvtoken.ConnectError) as cm:
            c.get_token()
        self.assertIsInstance(cm.exception, ConnectionError)
        self.assertIn("nothing-here", str(cm.exception))

    def test_a_socket_nobody_listens_on_is_a_connect_error(self):
        self.start("hold")
        self.fake.kill()
        self.fake.wait()
        with self.assertRaises(tvtoken.ConnectError):
            tvtoken.Client(socket=self.sock).status()

    def test_tokens_stay_out_of_repr_str_and_errors(self):
        c = self.start("reply=" + token_reply())
        t = c.get_token()
        self.finish()
        for text in (repr(t), str(t), repr(c)):
            self.assertNotIn("acc-1", text)
            self.assertNotIn("md-1", text)
        self.assertIn("generation=3", repr(t))

    def test_remaining_counts_down_to_expiry(self):
        c = self.start("reply=" + token_reply())
        t = c.get_token()
        self.finish()
        when = datetime.datetime(2026, 11, 28, 14, 0, tzinfo=datetime.timezone.utc)
        self.assertEqual(t.remaining(when), 1800.0)


class ClientSocketTest(unittest.TestCase):
    """Which socket a Client talks to."""

    def setUp(self):
        self.saved = os.environ.pop("TVTOKEN_SOCKET", None)

    def tearDown(self):
        os.environ.pop("TVTOKEN_SOCKET", None)
        if self.saved is not None:
            os.environ["TVTOKEN_SOCKET"] = self.saved

    def test_default_socket(self):
        self.assertEqual(tvtoken.Client().socket, "/run/tvtokend/io.tvtokend.Broker")

    def test_environment_names_the_socket(self):
        os.environ["TVTOKEN_SOCKET"] = "/tmp/x.sock"
        self.assertEqual(tvtoken.Client().socket, "/tmp/x.sock")
        os.environ["TVTOKEN_SOCKET"] = ""
        self.assertEqual(tvtoken.Client().socket, "/run/tvtokend/io.tvtokend.Broker")

    def test_socket_and_instance_beat_the_environment(self):
        os.environ["TVTOKEN_SOCKET"] = "/tmp/x.sock"
        self.assertEqual(tvtoken.Client(socket="/tmp/y.sock").socket, "/tmp/y.sock")
        self.assertEqual(tvtoken.Client(instance="live").socket,
                         "/run/tvtokend/live/io.tvtokend.Broker")

    def test_bad_instances_and_sockets_are_refused(self):
        for name in ("", "a/b", ".", "..", "a\0b"):
            with self.assertRaises(ValueError):
                tvtoken.Client(instance=name)
        with self.assertRaises(ValueError):
            tvtoken.Client(socket="/tmp/s", instance="live")
        with self.assertRaises(ValueError):
            tvtoken.Client(socket="/" + "x" * 200)
        with self.assertRaises(ValueError):
            tvtoken.Client(timeout=0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
