import { describe, expect, it } from 'vitest';
import { rawArrayMember } from '../../core/federation/transaction';

describe('rawArrayMember', () => {
  it('returns the raw text of each element, floats and escapes as written', () => {
    const text = ' { "origin" : "a,b]}", "pdus" : [ {"depth": 1.0, "s": "x\\"]"} , [1,{"a":[]}], 2e3 ,"s"] , "edus": [] } ';
    expect(rawArrayMember(text, 'pdus')).toEqual(['{"depth": 1.0, "s": "x\\"]"}', '[1,{"a":[]}]', '2e3', '"s"']);
    expect(rawArrayMember(text, 'edus')).toEqual([]);
  });

  it('takes the last of duplicate keys, matches escaped keys, and is undefined without an array', () => {
    expect(rawArrayMember('{"pdus":[1],"pd\\u0075s":[2.5]}', 'pdus')).toEqual(['2.5']);
    expect(rawArrayMember('{"pdus":{"a":1}}', 'pdus')).toBeUndefined();
    expect(rawArrayMember('{"other":[1]}', 'pdus')).toBeUndefined();
    expect(rawArrayMember('[1]', 'pdus')).toBeUndefined();
    expect(rawArrayMember('{}', 'pdus')).toBeUndefined();
  });
});
