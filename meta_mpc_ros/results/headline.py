"""
The README's headline results, quoted from docs/RESULTS.md (never typed by hand).

Each headline is a list of lines picked out of one section of RESULTS.md by how they
begin: the sentences that state a target and whether it was met. They are quoted as
RESULTS words them (less a parenthesis that lists cells), so the README can say nothing
RESULTS does not. `meta-mpc bench
all` rewrites the README's block between `<!-- results:begin -->` and
`<!-- results:end -->` after it renders RESULTS.md; by hand:

    .venv/bin/python -m meta_mpc_ros.results.headline     # README.md from docs/RESULTS.md

test/package/test_readme.py fails when the block is stale, or names a number that
RESULTS.md does not hold.
"""

from dataclasses import dataclass
import pathlib
import re

BEGIN, END = '<!-- results:begin -->', '<!-- results:end -->'
ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Headline:
    """
    One headline: lines of one RESULTS section, joined into one bullet.

    :param label: the bullet's bold label.
    :param section: the title of the `##` section, up to its first character not given.
    :param subsection: the `###` title within it, or '' for the whole section.
    :param starts: how each quoted line begins (after a leading '- '), in order.
    :param drop: a regular expression whose matches are left out of each quoted line
        (e.g. a parenthesis listing cells), or ''.
    """

    label: str
    section: str
    starts: tuple
    subsection: str = ''
    drop: str = ''


HEADLINES = (
    Headline('Speed', '5. Speed', ('bf16 planning at >= 85 %', 'fp32 planning at >= 90 %',
                                   "the paper's model at K=1000, H=20",
                                   'ahead of pytorch_mppi wherever', 'ahead of mbrl wherever',
                                   'a GrBAL update of the 3 x 512 model',
                                   'a GrBAL adaptation step'),
             drop=r' \([^()]*;[^()]*\)'),
    Headline('Millirobot, model error on the held-out conditions', '1. Model error',
             ('GrBAL / MB:', 'GrBAL after / GrBAL before:', 'Continual / MB:'),
             subsection='millirobot'),
    Headline("Millirobot, over the planner's horizon on its own trajectories",
             '1. Model error', ('GrBAL / MB, horizon position error',
                                'Continual / MB, horizon position error'),
             subsection="millirobot: over the planner's horizon, on each method's own "
                        'closed-loop trajectories'),
    Headline('Millirobot, closed loop', '2. Fast adaptation',
             ('Shipped models, GrBAL costs less than MB+DE:',
              'Shipped models, GrBAL costs less than MB:',
              'Over training seeds, GrBAL costs less than MB+DE:',
              'Over training seeds, GrBAL costs less than MB:', 'Of the ')),
    Headline('Diff-drive base, closed loop', '2. Fast adaptation',
             ('Figure-8 on carpet, mean distance to the path, every method',
              'After a switch to a held-out condition an adaptive method tracks'),
             subsection='diff_drive in closed loop', drop=r' \(worst[^()]*\)'),
    Headline('Legged benchmarks', '3. Legged', ('The oracle beats random clearly',
                                                "The paper's ordering",
                                                'An adaptive method returns more than both')),
    Headline('Sample efficiency', '4. Sample efficiency',
             ('To reach the best model-based return',)),
    Headline("A real robot's recording (TurtleBot 4)", '6. A real robot',
             ('On the real recording, over the horizon,',)),
    Headline('Half-cheetah, model error', '1. Model error',
             ('GrBAL / MB, mean over the training joints', 'GrBAL / MB, mean over the held-out'),
             subsection='half_cheetah_disabled_joint', drop=r' \(disabled_joint[^()]*\)'),
)


def anchor(title):
    """Return the GitHub anchor of a Markdown heading's title."""
    return re.sub(r'[^\w\- ]', '', title.strip().lower()).replace(' ', '-')


def sections(text, level):
    """Return title -> body of the headings of `level` ('##' or '###') in text."""
    parts = re.split(rf'^{level} (.+)$', text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def quote(headline, text):
    """
    Return the heading title and the quoted lines of one headline in RESULTS.md's text.

    :return: (title the lines were found under, start -> quoted line or None where
        RESULTS lacks it, e.g. for a section not run yet).
    """
    title = next((t for t in sections(text, '##') if t.startswith(headline.section)), None)
    body = sections(text, '##').get(title, '')
    if headline.subsection:
        title = headline.subsection
        body = sections(body, '###').get(title, '')
    lines = [line.strip().removeprefix('- ') for line in body.splitlines()]
    quoted = {}
    for start in headline.starts:
        line = next((line for line in lines if line.startswith(start)), None)
        if line is not None and headline.drop:
            line = re.sub(headline.drop, '', line)
        quoted[start] = None if line is None else line.rstrip(':')
    return title, quoted


def block(text, results='docs/RESULTS.md'):
    """
    Return the README's headline block rendered from RESULTS.md's text.

    :param text: RESULTS.md.
    :param results: its path from the README, for the links.
    """
    bullets = []
    for headline in HEADLINES:
        title, quoted = quote(headline, text)
        found = [line for line in quoted.values() if line is not None]
        if found:
            bullets.append(f'- **{headline.label}** ([RESULTS]({results}#{anchor(title)})):')
            bullets += [f'  - {line}' for line in found]
    return '\n'.join(bullets) + '\n'


def missing(text):
    """Return the lines HEADLINES looks for that RESULTS.md's text lacks."""
    return [f'{headline.label}: {start}' for headline in HEADLINES
            for start, line in quote(headline, text)[1].items() if line is None]


def render(readme, results_text):
    """Return README text with its headline block rendered from RESULTS.md's text."""
    start, stop = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + '\n' + block(results_text) + readme[stop:]


def update_readme(readme, results):
    """
    Rewrite a README's headline block from a RESULTS.md, if the README has one.

    :param readme: path of README.md (nothing happens if it or its markers are absent).
    :param results: path of RESULTS.md.
    :return: whether the README was rewritten.
    """
    readme, results = pathlib.Path(readme), pathlib.Path(results)
    if not readme.is_file() or BEGIN not in readme.read_text():
        return False
    readme.write_text(render(readme.read_text(), results.read_text()))
    return True


def main():
    """Rewrite README.md's headline block from docs/RESULTS.md."""
    update_readme(ROOT / 'README.md', ROOT / 'docs' / 'RESULTS.md')
    lacking = missing((ROOT / 'docs' / 'RESULTS.md').read_text())
    print(f'updated the headline results in {ROOT / "README.md"}'
          + (f'; RESULTS.md lacks: {lacking}' if lacking else ''))


if __name__ == '__main__':
    main()
