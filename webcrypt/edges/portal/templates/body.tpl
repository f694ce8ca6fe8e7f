<!DOCTYPE html>
<html><head><meta charset="utf-8"><base target="_blank">
<style nonce="{{nonce}}">body{font-family:system-ui,sans-serif;margin:.5rem;overflow-wrap:anywhere;color:#1a1a1a}img{max-width:100%;height:auto}table{max-width:100%}</style>
</head><body>{{!html}}</body></html>
