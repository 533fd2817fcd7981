"""Crawl4AI's side of the browser benchmark (benches/browser.rs): render the given URLs in
Debian's Chromium through CDP, a fixed number at a time, and print one JSON line
{"pages": ok, "failed": n, "seconds": s}. Chromium is started here, as a child of this process,
so the benchmark's process-tree memory reading covers it.

Usage: python crawl4ai_crawl.py CHROMIUM CONCURRENCY URL...
"""

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from crawl4ai import AsyncWebCrawler, BrowserConfig, CacheMode, CrawlerRunConfig
from crawl4ai.async_dispatcher import SemaphoreDispatcher

FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chromium(executable: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    profile = tempfile.mkdtemp(prefix="crawl4ai-bench-")
    args = [executable, *FLAGS, f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"]
    browser = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/json/version", timeout=1).read()
            return browser, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("chromium did not open its DevTools port")


async def crawl(cdp_url: str, concurrency: int, urls: list[str]) -> dict:
    browser = BrowserConfig(browser_mode="cdp", cdp_url=cdp_url, headless=True, verbose=False)
    run = CrawlerRunConfig(cache_mode=CacheMode.BYPASS, verbose=False, stream=False)
    dispatcher = SemaphoreDispatcher(semaphore_count=concurrency, max_session_permit=concurrency)
    started = time.monotonic()
    async with AsyncWebCrawler(config=browser) as crawler:
        results = await crawler.arun_many(urls, config=run, dispatcher=dispatcher)
    seconds = time.monotonic() - started
    ok = sum(1 for r in results if r.success and r.markdown)
    errors = sorted({(r.error_message or "empty markdown")[:160] for r in results if not (r.success and r.markdown)})
    return {"pages": ok, "failed": len(results) - ok, "seconds": round(seconds, 3), "errors": errors[:3]}


def main() -> None:
    executable, concurrency, urls = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    browser, cdp_url = start_chromium(executable)
    try:
        print(json.dumps(asyncio.run(crawl(cdp_url, concurrency, urls))), flush=True)
    finally:
        browser.terminate()
        browser.wait(timeout=10)


if __name__ == "__main__":
    main()
