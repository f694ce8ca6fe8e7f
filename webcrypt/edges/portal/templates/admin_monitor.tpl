% rebase('admin_base.tpl', title=title)
<p class="{{'notice' if verdict.state == 0 else 'warning' if verdict.state == 1 else 'error'}}" role="status">{{_("State")}}: {{state}}. {{'; '.join(verdict.problems)}}</p>
<p>{{_("The figures of 'webcrypt monitor'.")}} {{date(figures.at)}} UTC</p>
<p>{{_("Database")}}: {{figures.database}}</p>
<div class="scroll" tabindex="0" role="region" aria-label="{{_("Counters")}}"><table>
<thead><tr><th></th><th class="num">{{_("Last hour")}}</th><th class="num">{{_("24 hours")}}</th><th>{{_("Per hour")}}</th></tr></thead>
<tbody>
% for name in counters:
% values = figures.series[name]
% top = max(values) or 1
<tr><th scope="row">{{_(name.replace('_', ' '))}}</th><td class="num">{{figures.last_hour[name]}}</td><td class="num">{{figures.totals[name]}}</td>
<td class="spark" aria-label="{{', '.join(str(v) for v in values)}}">{{''.join(' ▁▂▃▄▅▆▇█'[min(8, (v * 8 + top - 1) // top)] for v in values)}}</td></tr>
% end
</tbody></table></div>
<h2 id="state">{{_("State")}}</h2>
<div class="scroll" tabindex="0" role="region" aria-labelledby="state"><table><tbody>
% for name, value in figures.gauges.items():
<tr><th scope="row">{{_(name.replace('_', ' '))}}</th><td class="num">{{value}}</td></tr>
% end
</tbody></table></div>
<h2 id="last-errors">{{_("Last errors")}}</h2>
% if not figures.last_errors:
<p>{{_("None")}}</p>
% else:
<div class="scroll" tabindex="0" role="region" aria-labelledby="last-errors"><table>
<thead><tr><th>{{_("Time (UTC)")}}</th><th>{{_("Action")}}</th><th>{{_("Subject")}}</th><th>{{_("Detail")}}</th></tr></thead>
<tbody>
% for row in figures.last_errors:
<tr><td>{{date(row['at'])}}</td><td>{{row['action']}}</td><td>{{row['subject']}}</td><td>{{row['detail']}}</td></tr>
% end
</tbody></table></div>
% end
