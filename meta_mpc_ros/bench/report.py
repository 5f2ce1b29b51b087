"""Plain-text tables for the benchmark commands."""


def format_value(value):
    """Format one cell: floats to 3 significant digits, None as a dash."""
    if value is None:
        return '-'
    if isinstance(value, float):
        if value == 0.0 or 0.01 <= abs(value) < 1e5:
            return f'{value:.3g}' if abs(value) < 100 else f'{value:.0f}'
        return f'{value:.2e}'
    return str(value)


def print_table(title, rows, columns):
    """Print rows (dicts) as an aligned Markdown table under a title."""
    print(f'\n{title}')
    cells = [[format_value(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(row[i]) for row in cells)) if cells else len(column)
              for i, column in enumerate(columns)]
    print('| ' + ' | '.join(c.ljust(w) for c, w in zip(columns, widths)) + ' |')
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for row in cells:
        print('| ' + ' | '.join(c.rjust(w) for c, w in zip(row, widths)) + ' |')
