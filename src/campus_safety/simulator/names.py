"""Synthetic Chinese names for the demo city: people, villages, roads, schools, phones.

Town names (乡镇/街道) follow the real divisions of each county closely enough to look
familiar to a local reader; people, villages and schools are invented. Every function
draws from the ``random.Random`` it is given, so a seed fixes every name.
"""

from __future__ import annotations

import random
from datetime import date

# Surnames by rough frequency in Shandong (commonest first, weights follow).
SURNAMES = (
    "王李张刘陈杨赵孙马徐高周吴朱胡郭何林宋郑于韩冯董曹田袁邢贾魏崔任"
    "薛姜邱彭程侯卢蒋庞吕范孟梁杜许石谢丁纪付房"
)
SURNAME_WEIGHTS = [max(60 - 2 * i, 4) for i in range(len(SURNAMES))]
GIVEN_MALE = "伟强军磊勇杰涛斌超明刚平辉鹏华飞鑫波宁晨浩凯帅建国志东海峰新文立庆德"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪梅红琳颖洁慧倩晶佳莉萍秀英兰华云凤春"
MIDDLE = "建志国永俊晓海文明玉秀春立新德振红金宏云"

# 乡镇/街道 per county (GB/T 2260 code), county seat's streets first.
TOWNS: dict[str, tuple[str, ...]] = {
    "371402": ("新华街道", "新湖街道", "天衢街道", "广川街道", "运河街道", "宋官屯街道",
               "长河街道", "二屯镇", "黄河涯镇", "赵虎镇", "抬头寺镇", "袁桥镇"),
    "371403": ("安德街道", "临齐街道", "郑家寨镇", "糜镇", "宋家镇", "徽王庄镇", "神头镇",
               "滋镇", "前孙镇", "边临镇", "义渡口乡", "丁庄镇", "于集乡"),
    "371422": ("宁城街道", "津城街道", "柴胡店镇", "长官镇", "杜集镇", "保店镇", "大柳镇",
               "大曹镇", "相衙镇", "时集镇", "张大庄镇", "刘营伍乡"),
    "371423": ("渤海路街道", "庆云镇", "常家镇", "尚堂镇", "崔口镇", "东辛店镇", "严务乡",
               "徐园子乡", "中丁乡"),
    "371424": ("邢侗街道", "恒源街道", "临邑镇", "临南镇", "德平镇", "林子镇", "兴隆镇",
               "孟寺镇", "翟家镇", "理合务镇", "宿安乡"),
    "371425": ("晏城街道", "晏北街道", "表白寺镇", "焦庙镇", "赵官镇", "祝阿镇", "仁里集镇",
               "潘店镇", "胡官屯镇", "宣章屯镇", "华店镇", "刘桥镇", "安头乡", "大黄乡"),
    "371426": ("龙门街道", "桃园街道", "王凤楼镇", "前曹镇", "恩城镇", "王庙镇", "王杲铺镇",
               "张华镇", "腰站镇", "坊子乡"),
    "371427": ("银城街道", "北城街道", "南城镇", "苏留庄镇", "新盛店镇", "雷集镇", "郑保屯镇",
               "白马湖镇", "东李官屯镇", "宋楼镇", "香赵庄镇", "双庙镇", "渡口驿乡", "田庄乡"),
    "371428": ("广运街道", "武城镇", "老城镇", "鲁权屯镇", "郝王庄镇", "杨庄镇", "甲马营镇",
               "李家户镇"),
    "371481": ("市中街道", "胡家街道", "云红街道", "郭家街道", "杨安镇", "朱集镇", "黄夹镇",
               "丁坞镇", "花园镇", "郑店镇", "化楼镇", "孔镇", "铁营镇", "西段乡", "大孙乡",
               "寨头堡乡"),
    "371482": ("市中街道", "伦镇", "房寺镇", "张庄镇", "辛店镇", "安仁镇", "辛寨镇", "梁家镇",
               "十里望回族镇", "莒镇", "李屯乡"),
}  # fmt: skip

ROADS = (
    "人民路", "建设路", "文化路", "胜利路", "解放路", "新华路", "育才路", "迎宾大道", "振华路",
    "青年路", "光明路", "学府路", "兴业路", "府前街", "长江路", "黄河路", "运河大道", "东风路",
    "湖滨大道", "三八路", "天衢路", "德兴大道", "公园路", "红旗路", "利民路", "朝阳路",
    "北园路", "南环路", "商贸街", "民主路",
)  # fmt: skip
VILLAGE_SUFFIXES = ("庄", "家庄", "屯", "官屯", "集", "店", "家寨", "楼", "营", "口", "堂",
                    "洼", "坊", "庙", "桥", "王庄", "家洼", "家村", "寨")  # fmt: skip
VILLAGE_PREFIXES = ("", "", "", "", "东", "西", "南", "北", "前", "后", "大", "小")
# Words private and newer schools are named after.
SCHOOL_BRANDS = (
    "育才", "明德", "博文", "启明", "阳光", "英才", "新星", "朝阳", "春晖", "晨曦", "致远",
    "崇德", "弘毅", "行知", "尚贤", "知行", "新华", "东方", "华英", "启航", "明诚", "鸿儒",
)  # fmt: skip
KINDERGARTEN_BRANDS = (
    "小天使", "金色摇篮", "童心", "蓝天", "七色花", "小太阳", "贝贝", "快乐宝贝", "爱心",
    "红缨", "彩虹", "星星", "苗苗", "小博士", "贝尔", "花朵", "童乐", "启蒙", "小海豚",
    "未来星", "聪聪", "乐乐", "蒲公英", "向日葵", "小树苗", "春芽", "童趣", "新苗", "小白鸽",
    "金太阳",
)  # fmt: skip
SECURITY_COMPANIES = (
    "德州德安保安服务有限公司", "德州鲁卫保安服务有限公司", "山东金盾天衢保安服务有限公司",
    "德州长河保安服务有限公司", "德州安泰护卫服务有限公司", "山东鼎信保安服务有限公司",
    "德州盛世平安保安服务有限公司", "德州运河押运保安服务有限公司",
)  # fmt: skip
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
                   "151", "152", "153", "155", "156", "157", "158", "159", "166", "177",
                   "180", "181", "182", "183", "186", "187", "188", "189", "199")  # fmt: skip
DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 23 → 二十三 (as in 第二十三中学); 1 ≤ n ≤ 99."""
    if not 1 <= n <= 99:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else DIGITS[tens] + "十")
    return head + (DIGITS[ones] if ones else "")


def person_name(rng: random.Random) -> str:
    """A two- or three-character name, e.g. 王建国, 李娜."""
    surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
    pool = GIVEN_MALE if rng.random() < 0.5 else GIVEN_FEMALE
    if rng.random() < 0.3:
        return surname + rng.choice(pool)
    return surname + rng.choice(MIDDLE) + rng.choice(pool)


def mobile_phone(rng: random.Random) -> str:
    """A synthetic 11-digit mobile number (1xx…)."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def landline(rng: random.Random) -> str:
    """A synthetic 德州 (area code 0534) office number."""
    return f"0534-{rng.randrange(2, 9)}{rng.randrange(10**6):06d}"


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def national_id(region_code: str, born: date, rng: random.Random) -> str:
    """A synthetic 18-digit 居民身份证号码 (GB 11643-1999) with a valid check digit."""
    body = f"{region_code}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def village_name(rng: random.Random) -> str:
    """A village such as 王庄, 前李家寨, 高官屯."""
    return (
        rng.choice(VILLAGE_PREFIXES)
        + rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
        + rng.choice(VILLAGE_SUFFIXES)
    )


def town_short_name(town: str) -> str:
    """柴胡店镇 → 柴胡店, 新华街道 → 新华, 十里望回族镇 → 十里望 (as police stations are named)."""
    for suffix in ("回族镇", "街道", "镇", "乡"):
        if town.endswith(suffix):
            return town[: -len(suffix)]
    return town


def is_urban(town: str) -> bool:
    """Streets (街道) are the county seat's urban area; towns and townships are rural."""
    return town.endswith("街道")


class SchoolNamer:
    """Names schools of one county, never the same name twice in the city.

    Patterns follow local practice: 德城区第三实验小学, 宁津县柴胡店镇中心幼儿园,
    齐河县焦庙镇王庄小学, 夏津县第一中学. The county's senior schools are named first
    so that they take 第一中学, 第二中学….
    """

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken
        self.counters: dict[tuple[str, str], int] = {}

    def _numbered(self, prefix: str, pattern: str) -> str:
        """The next free numbered name, e.g. 德城区第三实验小学."""
        while True:
            key = (prefix, pattern)
            self.counters[key] = self.counters.get(key, 0) + 1
            name = pattern.format(prefix=prefix, n=chinese_number(self.counters[key]))
            if name not in self.taken:
                self.taken.add(name)
                return name

    def _claim(self, candidates: list[str | None], prefix: str, pattern: str) -> str:
        """The first free candidate; ``None`` (or running out) means a numbered name."""
        for name in candidates:
            if name is None:
                break
            if name not in self.taken:
                self.taken.add(name)
                return name
        return self._numbered(prefix, pattern)

    def name(
        self, kind: str, *, county: str, town: str, city_prefix: str, village: str, road: str
    ) -> str:
        """A unique name for a school of ``kind`` in ``town`` (``village``, ``road``) of ``county``.

        ``city_prefix`` names the county's numbered senior schools: 德州市第一中学 in the
        city district, 夏津县第一中学 in a county.
        """
        rng = self.rng
        place = county + town
        brand = rng.choice(SCHOOL_BRANDS)
        urban = is_urban(town)
        villages = [village] + [village_name(rng) for _ in range(4)]
        if kind == "kindergarten":
            if urban:
                options = [
                    county + "实验幼儿园",
                    county + "机关幼儿园",
                    county + rng.choice(KINDERGARTEN_BRANDS) + "幼儿园",
                    None,
                ]
                return self._claim(options[rng.randrange(4) :], county, "{prefix}第{n}幼儿园")
            options = [place + "中心幼儿园", *(place + v + "幼儿园" for v in villages)]
            return self._claim(options, place, "{prefix}第{n}幼儿园")
        if kind == "primary":
            if urban:
                options = [
                    county + "实验小学",
                    None,
                    county + road + "小学",
                    county + brand + "小学",
                ]
                return self._claim(options[rng.randrange(4) :], county, "{prefix}第{n}实验小学")
            options = [place + "中心小学", *(place + v + "小学" for v in villages)]
            return self._claim(options, place, "{prefix}第{n}小学")
        if kind == "senior":
            options = [None] if rng.random() < 0.8 else [county + brand + "高级中学", None]
            return self._claim(options, city_prefix, "{prefix}第{n}中学")
        if kind == "junior":
            if urban:
                options = [county + "实验中学", county + brand + "中学", None]
                return self._claim(options[rng.randrange(3) :], county, "{prefix}第{n}初级中学")
            options = [place + "中学", *(place + v + "中学" for v in villages)]
            return self._claim(options, place, "{prefix}第{n}中学")
        if kind == "nine_year":
            if urban:
                return self._claim([county + brand + "实验学校"], county, "{prefix}第{n}实验学校")
            options = [*(place + v + "学校" for v in villages), place + "中心学校"]
            return self._claim(options, place, "{prefix}第{n}学校")
        if kind == "twelve_year":
            options = [county + brand + "外国语学校", county + brand + "双语学校"]
            return self._claim(options, county, "{prefix}第{n}外国语学校")
        if kind == "vocational":
            options = [
                county + "职业教育中心学校",
                county + "职业中等专业学校",
                county + brand + "职业学校",
            ]
            return self._claim(options, county, "{prefix}第{n}职业学校")
        if kind == "special":
            return self._claim([county + "特殊教育学校"], county, "{prefix}第{n}特殊教育学校")
        raise ValueError(f"unknown school kind {kind!r}")
