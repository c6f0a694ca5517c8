"""The HTML pages and the string catalogues, without a browser: language choice, catalogue completeness,
the CSP-friendly markup (no inline script or style) and the stable hooks the browser tests rely on."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from app.api.pages import MODEL_ORDER
from app.i18n import LANGUAGES, catalogue, choose_language, from_accept_language
from tests.conftest import PROJECT_ROOT

PAGES = ("/", "/lesson")
TEMPLATES = PROJECT_ROOT / "templates"
SCRIPTS = PROJECT_ROOT / "static" / "js"


class Elements(HTMLParser):
    """Every start tag as (tag, attributes), and the text outside script/style."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


@pytest.fixture
def fresh(client):
    """The shared client without a remembered language, before and after."""
    client.cookies.clear()
    yield client
    client.cookies.clear()


def by_testid(page: Elements) -> dict[str, dict]:
    return {attrs["data-testid"]: attrs for _, attrs in page.elements if attrs.get("data-testid")}


def test_the_drawing_page_has_every_hook_and_english_by_default(fresh):
    response = fresh.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    assert ("html", {"lang": "en"}) in page.elements
    hooks = by_testid(page)
    for hook in ("pad", "prediction", "confidence", "verdict", "clear", "undo", "model-select", "lang-en", "lang-zh-TW",
                 "compare-toggle", "preview", "share"):
        assert hook in hooks, hook
    assert hooks["pad"]["role"] == "img" and hooks["pad"]["aria-label"], "the canvas has a text alternative"
    for digit in range(10):
        bar = hooks[f"prob-{digit}"]
        assert bar["role"] == "meter" and bar["data-value"] == "0"
        assert (bar["aria-valuemin"], bar["aria-valuemax"]) == ("0", "100")
        assert bar["aria-label"] == catalogue("en")["bars.digit"].replace("{digit}", str(digit))
    assert catalogue("en")["index.heading"] in response.text


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_have_no_inline_script_or_style(fresh, path, lang):
    """The CSP allows only our own files: every script has a src, nothing carries style= or on*= handlers."""
    response = fresh.get(path, params={"lang": lang})
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = parse(response.text)
    scripts = [attrs for tag, attrs in page.elements if tag == "script"]
    assert scripts and all(attrs.get("src", "").startswith("/static/") for attrs in scripts)
    assert not [tag for tag, _ in page.elements if tag == "style"]
    for tag, attrs in page.elements:
        assert "style" not in attrs, f"<{tag}> has a style attribute"
        assert not [name for name in attrs if name.startswith("on")], f"<{tag}> has an inline handler"
        assert not str(attrs.get("href", "")).startswith(("http:", "https:", "//")), "no external assets"
        assert not str(attrs.get("src", "")).startswith(("http:", "https:", "//")), "no external assets"


@pytest.mark.parametrize("path", PAGES)
def test_every_asset_a_page_names_is_served(fresh, path):
    page = parse(fresh.get(path).text)
    assets = [attrs.get("src") or attrs.get("href") for tag, attrs in page.elements if tag in ("script", "link", "img")]
    assert assets
    for asset in assets:
        response = fresh.get(asset)
        assert response.status_code == 200, asset


def test_every_module_import_resolves():
    for script in SCRIPTS.glob("*.js"):
        for name in re.findall(r'from "\./([\w-]+\.js)"', script.read_text(encoding="utf-8")):
            assert (SCRIPTS / name).is_file(), f"{script.name} imports a missing {name}"


def test_lang_query_switches_and_a_cookie_remembers(fresh):
    response = fresh.get("/", params={"lang": "zh-TW"})
    assert ("html", {"lang": "zh-TW"}) in parse(response.text).elements
    assert "lang=zh-TW" in response.headers["set-cookie"]
    assert catalogue("zh-TW")["index.heading"] in response.text
    again = fresh.get("/lesson")  # no ?lang=: the cookie decides
    assert ("html", {"lang": "zh-TW"}) in parse(again.text).elements
    assert catalogue("zh-TW")["lesson.heading"] in again.text
    back = fresh.get("/", params={"lang": "en"})
    assert ("html", {"lang": "en"}) in parse(back.text).elements


def test_an_unknown_language_falls_back_without_being_remembered(fresh):
    response = fresh.get("/", params={"lang": "fr"})
    assert ("html", {"lang": "en"}) in parse(response.text).elements
    assert "set-cookie" not in response.headers


def test_a_zh_tw_page_shows_no_english_string(fresh):
    """Every visible string comes from the catalogue: no English text of a translated key leaks through."""
    zh_page = fresh.get("/", params={"lang": "zh-TW"}).text
    en, zh = catalogue("en"), catalogue("zh-TW")
    leaked = [key for key in en if en[key] != zh[key] and "{" not in en[key] and en[key] in zh_page]
    assert not leaked, leaked


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-TW"),
        ("zh-Hant-HK", "zh-TW"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,en;q=0.5,zh-TW;q=0.4", "en"),
        ("fr-FR,zh-TW;q=0.5,en;q=0.4", "zh-TW"),
        ("zh-CN", None),
        ("de", None),
        ("", None),
    ],
)
def test_accept_language_is_honoured_with_its_q_values(header, expected):
    assert from_accept_language(header) == expected


def test_the_choice_order_is_query_then_cookie_then_browser():
    assert choose_language("zh-tw", "en", "en") == "zh-TW"
    assert choose_language(None, "zh-TW", "en") == "zh-TW"
    assert choose_language("xx", None, "zh-HK") == "zh-TW"
    assert choose_language(None, None, None) == "en"


def test_accept_language_reaches_the_page(fresh):
    response = fresh.get("/", headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    assert ("html", {"lang": "zh-TW"}) in parse(response.text).elements


def test_the_catalogues_match_key_for_key_and_placeholder_for_placeholder():
    en, zh = catalogue("en"), catalogue("zh-TW")
    assert set(en) == set(zh)
    for key, text in en.items():
        assert text.strip() and zh[key].strip(), key
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", zh[key])), key


def test_every_key_the_templates_and_scripts_use_exists():
    en = catalogue("en")
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""t\[["']([\w.\-]+)["']\]""", template.read_text(encoding="utf-8")))
        used |= {f"lang.{code}" for code in LANGUAGES}
    for script in SCRIPTS.glob("*.js"):
        used |= set(re.findall(r"""\bt\("([\w.\-]+)"[,)]""", script.read_text(encoding="utf-8")))
    # Keys built from a name: t(`act.${name}`), t(`act.name.${name}`), t(`model.title.${id}`), t(`digit.read_${d}`).
    activations = (SCRIPTS / "activations.js").read_text(encoding="utf-8")
    block = activations.split("ACTIVATIONS = {", 1)[1].split("\n};", 1)[0]
    names = re.findall(r'^  "?([\w-]+)"?: \{', block, flags=re.MULTILINE)
    assert len(names) == 6, names
    used |= {f"act.{name}" for name in names} | {f"act.name.{name}" for name in names}
    used |= {f"model.title.{model}" for model in MODEL_ORDER} | {f"digit.read_{d}" for d in range(10)}
    used |= {f"layer.{kind}" for kind in ("hidden", "act", "norm", "pool")}
    assert len(used) > 60
    missing = sorted(used - set(en))
    assert not missing, missing


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_scripts_get_the_same_catalogue(fresh, lang):
    response = fresh.get(f"/i18n/{lang}.json")
    assert response.status_code == 200
    assert response.json() == json.loads((PROJECT_ROOT / "app" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def test_an_unknown_catalogue_is_a_json_404(fresh):
    response = fresh.get("/i18n/xx.json")
    assert response.status_code == 404
    assert "en" in response.json()["detail"]


def test_the_lesson_links_back_and_has_its_five_steps(fresh):
    page = parse(fresh.get("/lesson").text)
    ids = {attrs.get("id") for _, attrs in page.elements}
    assert {"neuron", "activations", "toy", "softmax", "hidden", "evidence"} <= ids
    assert ("a", {"href": "/"}) in [(tag, {"href": attrs.get("href")}) for tag, attrs in page.elements if tag == "a"]
    hooks = by_testid(page)
    assert {"pad", "prediction", "model-select", "softmax-table", "softmax-example", "curve-chart", "x-slider", "toy",
            "dying-chart"} <= set(hooks)


def module_imports(entry: str) -> set[str]:
    """Every module the entry script imports, directly or not."""
    seen: set[str] = set()
    pending = [entry]
    while pending:
        source = (SCRIPTS / pending.pop()).read_text(encoding="utf-8")
        for name in re.findall(r'from "\./([\w-]+\.js)"', source):
            if name not in seen:
                seen.add(name)
                pending.append(name)
    return seen


@pytest.mark.parametrize(("path", "entry"), [("/", "index.js"), ("/lesson", "lesson.js")])
def test_modulepreload_names_exactly_the_modules_the_page_imports(fresh, path, entry):
    page = parse(fresh.get(path).text)
    preloaded = {attrs["href"].rsplit("/", 1)[1] for tag, attrs in page.elements
                 if tag == "link" and attrs.get("rel") == "modulepreload"}
    assert preloaded == module_imports(entry)


def test_the_page_carries_leaky_relus_slope_from_python(fresh):
    """The lesson plots Leaky ReLU with the slope the models are built with: one number, rendered by the server."""
    from app.inference.activations import LEAKY_SLOPE

    body = next(attrs for tag, attrs in parse(fresh.get("/lesson").text).elements if tag == "body")
    assert float(body["data-leaky-slope"]) == LEAKY_SLOPE
    assert not re.search(r"LEAKY_SLOPE\s*=\s*[\d.]", (SCRIPTS / "activations.js").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_language_switch_is_links_to_the_same_page(fresh, lang):
    page = parse(fresh.get("/lesson", params={"lang": lang}).text)
    links = {attrs["hreflang"]: attrs for tag, attrs in page.elements if tag == "a" and attrs.get("hreflang")}
    assert set(links) == set(LANGUAGES)
    assert all(link["href"] == f"/lesson?lang={code}" for code, link in links.items())
    assert links[lang].get("aria-current") == "true"
    assert not any(tag == "select" and attrs.get("name") == "lang" for tag, attrs in page.elements)


def test_zh_tw_says_the_tutorials_word_for_activation_function():
    zh = catalogue("zh-TW")
    assert not [key for key, text in zh.items() if "激活" in text]
    assert sum("激勵函數" in text for text in zh.values()) >= 5


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_load_their_assets_from_this_server(fresh, path):
    response = fresh.get(path)
    assert response.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assets = [s for s in sources if s.endswith((".js", ".css"))]
    assert assets and all(s.startswith("/docs/assets/") for s in assets), sources
    for asset in assets:
        assert fresh.get(asset).status_code == 200
    assert "cdn." not in response.headers["content-security-policy"]


def test_an_unknown_docs_asset_is_a_json_404(fresh):
    response = fresh.get("/docs/assets/..%2Fcore.py")
    assert response.status_code == 404 and "detail" in response.json()


def test_the_lesson_runs_are_the_cards_of_models_adam_and_dying(fresh):
    runs = fresh.get("/lesson/runs.json").json()
    assert set(runs) == {"adam", "dying"}
    for run, cards in runs.items():
        on_disk = sorted((PROJECT_ROOT / "models" / run).glob("*.json"))
        assert [c["id"] for c in cards] == [json.loads(p.read_text())["id"] for p in on_disk]
