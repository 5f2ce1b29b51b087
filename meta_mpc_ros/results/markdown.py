"""Markdown helpers of the RESULTS sections: numbers, tables, provenance lines."""

import math


def number(value, digits=3):
    """Format a number for a table ('-' for None or NaN; text as it is)."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return '-'
    if isinstance(value, int):
        return str(value)
    return f'{value:.{digits}g}' if abs(value) < 1e4 else f'{value:.0f}'


def table(header, rows):
    """Return a Markdown table."""
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def provenance(data, extra=''):
    """Return the line stating seed, data volume and wall time."""
    parts = [f'seed {data.get("seed")}', f'budget `{data.get("budget")}`']
    if data.get('transitions') is not None:
        parts.append(f'{data["transitions"]} transitions '
                     f'({number(data.get("sim_hours"), 2)} sim-hours) measured')
    if data.get('wall_seconds') is not None:
        parts.append(f'{data["wall_seconds"] / 60:.1f} min wall time')
    return '_' + ', '.join(parts) + (f'; {extra}' if extra else '') + '._\n'
