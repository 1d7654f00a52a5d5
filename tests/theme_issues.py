"""Issues that push the theme: all Arabic, mixed scripts, an odd number of teasers, twelve.

Shared by the theme's browser tests and ``bench/theme.py`` (the measurement table). Each is
the text of an issue file, written against the example workspace's assets.
"""

from __future__ import annotations

import io
import math
import shutil
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from newsletter.model.artifact import Artifact
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"

ARABIC = """\
subject: بوتين يستقطب الجيران لحربه في أوكرانيا
preheader: روسيا تجند المهاجرين من آسيا الوسطى، وحكوماتهم غير راضية.
date: 2025-06-26
lang: ar
lead:
  kicker: روسيا
  headline: بوتين يستقطب الجيران لحربه في أوكرانيا
  byline: فريق جي زيرو
  url: https://www.gzeromedia.com/news/putin-poaches-the-neighbors-for-his-ukraine-invasion
  image:
    src: assets/putin-poaches-the-neighbors.jpg
    alt: الرئيس الروسي فلاديمير بوتين.
    credit: رويترز
  body: |
    منذ أشهر يواجه فلاديمير بوتين معضلة: كيف يجد جنودًا لحربه في أوكرانيا دون أن يعرّض
    كثيرًا من الروس لأهوال الحرب؟ أحد الحلول التي جرّبها الكرملين هو استقطاب الجيران.

    تجنّد روسيا مقاتلين من جمهوريات آسيا الوسطى السوفيتية السابقة، ولا سيما كازاخستان
    وقيرغيزستان وأوزبكستان. ولا تبدو أي من هذه الدول راضية عن ذلك.
teasers:
  - headline: مسيرة الفخر في بودابست تمضي رغم الحظر
    url: https://www.gzeromedia.com/news/budapest-pride-goes-ahead-despite-ban
    image: {src: assets/budapest-pride.jpg, alt: امرأة تشعل سيجارة في لافتة خلال مظاهرة في بودابست., credit: رويترز}
    summary: عاصمة المجر ستقيم مسيرة الفخر يوم السبت رغم حظر الحكومة.
  - headline: من بحيرة البجع إلى الشاشة، معركة السيطرة على المعلومات
    url: https://www.gzeromedia.com/news/from-swan-lake-to-the-feed
    image: {src: assets/trump-x-tiktok.jpg, alt: صفحة الرئيس الأمريكي على منصة إكس على هاتف ذكي., credit: رويترز}
    summary: في أغسطس ١٩٩١ حاول مسؤولون سوفييت الاستيلاء على السلطة، وبدأوا ببث بحيرة البجع.
  - headline: الشركات الصغيرة محرّك كبير للنمو العالمي
    url: https://www.gzeromedia.com/news/small-businesses-big-engine-of-growth
    summary: الشركات الصغيرة تشكّل تسعين في المئة من الشركات في العالم.
"""

MIXED = """\
subject: Voices from three alphabets
preheader: Arabic, Hebrew and Russian stories, each marked with its language.
date: 2025-06-26
lead:
  kicker: Russia
  headline: Putin poaches the neighbors for his Ukraine invasion
  url: https://www.gzeromedia.com/news/putin-poaches-the-neighbors-for-his-ukraine-invasion
  image: {src: assets/putin-poaches-the-neighbors.jpg, alt: Russian President Vladimir Putin., credit: Reuters}
  body: |
    For many months now, Vladimir Putin has faced the dilemma of how to rustle up enough warm
    bodies for his invasion of Ukraine.
teasers:
  - headline: بوتين يستقطب الجيران
    url: https://www.gzeromedia.com/news/ar
    lang: ar
    image: {src: assets/budapest-pride.jpg, alt: امرأة تحمل لافتة في بودابست., credit: REUTERS/Marton Monus}
    summary: تقرير عن آسيا الوسطى وروسيا والحرب في أوكرانيا.
  - headline: שלום לכולם מירושלים
    url: https://www.gzeromedia.com/news/he
    lang: he
    summary: סיכום קצר של הכתבה על הבחירות.
  - headline: Путин и соседи
    url: https://www.gzeromedia.com/news/ru
    lang: ru
    summary: Москва обещает мигрантам гражданство в обмен на контракт с армией.
  - headline: NATO allies agree to Trump’s 5% spending target
    url: https://www.gzeromedia.com/news/nato-allies-agree-to-five-percent
    image: {src: assets/nato-summit-hague.jpg, alt: NATO leaders at a summit in The Hague., credit: REUTERS}
    summary: The two-day NATO summit at the Hague wrapped on Wednesday.
"""


def teasers(count: int) -> str:
    """The example's lead with ``count`` teasers, every other one with an image."""
    items = "".join(
        f"  - headline: Teaser number {n} with a headline long enough to wrap\n"
        f"    url: https://www.gzeromedia.com/news/teaser-{n}\n"
        f"    summary: Summary {n}, two sentences that make a reader want the rest. And more.\n"
        + (
            "    image: {src: assets/nato-summit-hague.jpg, alt: NATO leaders in The Hague.}\n"
            if n % 2
            else ""
        )
        for n in range(1, count + 1)
    )
    return f"""\
subject: An issue with {count} teasers
preheader: What the row of teasers looks like when it holds {count} of them.
date: 2025-06-26
lead:
  headline: Putin poaches the neighbors for his Ukraine invasion
  url: https://www.gzeromedia.com/news/putin-poaches-the-neighbors-for-his-ukraine-invasion
  body: |
    For many months now, Vladimir Putin has faced the dilemma of how to rustle up enough warm
    bodies for his invasion of Ukraine.
teasers:
{items}"""


#: The five issues every theme measurement runs on, by name (``None``: the example as it is).
ISSUES: dict[str, str | None] = {
    "example": None,
    "arabic": ARABIC,
    "mixed": MIXED,
    "three": teasers(3),
    "twelve": teasers(12),
}


def build_all(root: Path, theme: str = "gzero") -> dict[str, Artifact]:
    """Each of :data:`ISSUES` built in a copy of the example workspace at ``root``, with local
    images (no ``asset_base_url``) so that a browser opening ``root/<name>.html`` loads them.
    Each email's HTML is written there, beside ``assets/``."""
    config = (REPO / "newsletter.toml").read_text().replace("assets = true", "assets = false")
    config = config.replace('template = "gzero"', f'template = "{theme}"')
    (root / "newsletter.toml").write_text(config)
    (root / "issues").mkdir()
    shutil.copytree(REPO / "assets", root / "assets")
    workspace = load_workspace(root)
    built = {}
    for name, text in ISSUES.items():
        source = root / "issues" / f"2025-06-26-{name}.yaml"
        source.write_text(text or EXAMPLE.read_text())
        result = build_issue(source, workspace)
        assert result.artifact is not None, result.problems
        built[name] = result.artifact
        (root / f"{name}.html").write_text(result.artifact.email.html)
    return built


#: In a page: every element with its own text -> [text, colour, background behind it, font
#: size px, bold], the background being the first opaque one up the tree.
TEXT_COLOURS = """() => [...document.body.querySelectorAll('*')]
  .filter(el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter(el => !el.closest('[aria-hidden="true"]') && !el.closest('[style*="display:none"]'))
  .map(el => {
    let bg = el;
    while (bg && ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(bg).backgroundColor)) bg = bg.parentElement;
    const style = getComputedStyle(el);
    return [el.innerText.trim().slice(0, 40), style.color,
            bg ? getComputedStyle(bg).backgroundColor : 'rgb(255, 255, 255)',
            parseFloat(style.fontSize), parseInt(style.fontWeight) >= 700];
  })"""


def luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def below_aa(texts: list[list[object]]) -> list[tuple[object, ...]]:
    """The texts under WCAG AA: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold)."""
    low = []
    for text, fg, bg, size, bold in texts:
        large = float(str(size)) >= 24 or (bold and float(str(size)) >= 18.66)
        ratio = contrast(str(fg), str(bg))
        if ratio < (3 if large else 4.5):
            low.append((text, fg, bg, round(ratio, 2)))
    return low


#: In a page: each text node that has a letter or a digit -> [text, its line boxes as [x, y,
#: width, height] (px, in the page), font size px, bold]. For colours that only the painted
#: pixels show (chromium's forced dark recolours at paint time; computed styles keep the
#: page's own colours).
TEXT_RUNS = """() => {
  const runs = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!/[\\p{L}\\p{N}]/u.test(node.textContent)) continue;
    if (el.closest('[aria-hidden="true"], [style*="display:none"]')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const boxes = [...range.getClientRects()].filter(r => r.width >= 1 && r.height >= 4)
      .map(r => [r.left + scrollX, r.top + scrollY, r.width, r.height]);
    if (boxes.length) runs.push([node.textContent.trim().slice(0, 40), boxes,
                                 parseFloat(style.fontSize), parseInt(style.fontWeight) >= 700]);
  }
  return runs;
}"""


def painted(png: bytes, runs: list[list[Any]]) -> list[list[object]]:
    """Each of :data:`TEXT_RUNS` as :data:`TEXT_COLOURS` gives it, its colours read from a
    full-page screenshot: over all its line boxes, the background is the commonest pixel and
    the text the pixel farthest from it in contrast (a glyph's stems reach its own colour)."""
    image = PILImage.open(io.BytesIO(png)).convert("RGB")
    found: list[list[object]] = []
    for text, boxes, size, bold in runs:
        pixels: dict[tuple[int, ...], int] = {}
        for x, y, width, height in boxes:
            box = image.crop((int(x), int(y), math.ceil(x + width), math.ceil(y + height)))
            for count, pixel in box.getcolors(box.width * box.height) or []:
                pixels[pixel] = pixels.get(pixel, 0) + count
        background = _rgb(max(pixels, key=pixels.__getitem__))
        text_colour = max((_rgb(p) for p in pixels), key=lambda c: contrast(c, background))
        found.append([text, text_colour, background, size, bold])
    return found


def _rgb(pixel: tuple[int, ...]) -> str:
    return f"rgb({pixel[0]}, {pixel[1]}, {pixel[2]})"
